package notify

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Slack limits: a section's text holds at most 3000 characters, a header
// 150, a message 50 blocks.
const (
	slackSectionMax = 3000
	slackHeaderMax  = 150
	slackBlocksMax  = 50
)

// SlackMessage is the body of a Slack incoming-webhook request: a
// fallback text and blocks.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is one layout block (header or section).
type SlackBlock struct {
	Type string     `json:"type"`
	Text *SlackText `json:"text,omitempty"`
}

// SlackText is a text object: plain_text or mrkdwn.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Slack renders the notification for a Slack incoming webhook: the title
// as fallback text and header, then sections in Slack's mrkdwn.
func (n Notification) Slack() SlackMessage {
	title := n.Title()
	msg := SlackMessage{Text: title}
	msg.Blocks = append(msg.Blocks, SlackBlock{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncateRunes(title, slackHeaderMax)}})

	var facts strings.Builder
	for _, f := range n.fields() {
		if f[0] == "Link" {
			fmt.Fprintf(&facts, "*%s:* <%s|open>\n", f[0], slackEscape(strings.ReplaceAll(f[1], "|", "%7C")))
			continue
		}
		fmt.Fprintf(&facts, "*%s:* %s\n", f[0], slackCode(f[1]))
	}
	if n.Reason != "" {
		fmt.Fprintf(&facts, "\n%s\n", slackEscape(n.Reason))
	}
	sections := []string{facts.String()}

	if len(n.Replacements) > 0 {
		var b strings.Builder
		b.WriteString("*Replaced resources*\n")
		for _, r := range n.Replacements {
			var e strings.Builder
			fmt.Fprintf(&e, "• %s", slackCode(r.Resource))
			if r.Reason != "" {
				fmt.Fprintf(&e, " (%s)", slackEscape(r.Reason))
			}
			e.WriteString("\n")
			if len(r.Paths) == 0 {
				e.WriteString("    forced by no attribute path (tainted, replace_triggered_by or -replace)\n")
			}
			for _, c := range r.Changes {
				fmt.Fprintf(&e, "    %s: %s → %s\n", slackCode(c.Path), slackCode(c.Before), slackCode(c.After))
			}
			if b.Len()+e.Len() > slackSectionMax {
				sections = append(sections, b.String())
				b.Reset()
			}
			b.WriteString(e.String())
		}
		sections = append(sections, b.String())
	}
	if fix := n.IgnoreChangesFix(); fix != "" {
		sections = append(sections, "*Fix*: if these attributes may keep their prebuild values, ignore them in the template:\n```"+
			slackEscape(strings.ReplaceAll(fix, "```", "'''"))+"```")
	}
	for _, s := range sections {
		if len(msg.Blocks) == slackBlocksMax {
			break
		}
		msg.Blocks = append(msg.Blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: truncateRunes(s, slackSectionMax)}})
	}
	return msg
}

// MarshalSlack returns the Slack incoming-webhook JSON body.
func (n Notification) MarshalSlack() ([]byte, error) { return json.Marshal(n.Slack()) }

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes the three characters Slack's mrkdwn treats as
// control characters.
func slackEscape(s string) string { return slackEscaper.Replace(s) }

// slackCode renders s as inline code; Slack has no escape for a backtick
// inside code, so backticks become quotes.
func slackCode(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "`", "'"), "\n", " ")
	if s == "" {
		return "-"
	}
	return "`" + slackEscape(s) + "`"
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
