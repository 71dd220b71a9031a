package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
)

// dispatchOptions configure notification delivery; long-running commands
// embed them too.
type dispatchOptions struct {
	lease, timeout       time.Duration
	batch, maxAttempts   int
	backoff, backoffMax  time.Duration
	smtpAddr, smtpFrom   string
	smtpUser, smtpPWFile string
	smtpCAFile           string
	smtpRequireTLS       bool
	linkTemplate         string
}

func addDispatchFlags(cmd *cobra.Command, o *dispatchOptions) {
	f := cmd.Flags()
	f.DurationVar(&o.lease, "lease", time.Minute, "how long a dispatcher reserves the messages it claimed (at least twice --send-timeout; a shorter one is raised to that, with a warning)")
	f.DurationVar(&o.timeout, "send-timeout", 15*time.Second, "time limit of one delivery attempt")
	f.IntVar(&o.batch, "batch", 50, "messages claimed at a time")
	f.IntVar(&o.maxAttempts, "max-attempts", 8, "attempts before a message is dead-lettered")
	f.DurationVar(&o.backoff, "retry-base", 10*time.Second, "delay before the first retry; doubles each attempt, with jitter")
	f.DurationVar(&o.backoffMax, "retry-max", time.Hour, "longest delay between retries")
	f.StringVar(&o.smtpAddr, "smtp-addr", "", "SMTP server host:port for email recipients (STARTTLS when offered)")
	f.StringVar(&o.smtpFrom, "smtp-from", "", "sender address of notification emails")
	f.StringVar(&o.smtpUser, "smtp-user", "", "SMTP AUTH user (needs TLS, or a server on localhost)")
	f.StringVar(&o.smtpPWFile, "smtp-password-file", "", "file holding the SMTP AUTH password")
	f.StringVar(&o.smtpCAFile, "smtp-ca-file", "", "PEM file of CA certificates to trust for STARTTLS (default: the system's)")
	f.BoolVar(&o.smtpRequireTLS, "smtp-require-tls", false, "refuse to send email to a server that offers no STARTTLS")
	f.StringVar(&o.linkTemplate, "link-template", "", "link added to each notification, with placeholders such as https://coder.example.com/@{claimant}/{workspace}/builds/{build_id} ({organization}, {template}, {template_version}, {preset}, {workspace}, {workspace_id}, {claimant}, {build_id}, and the _id of template, template_version, preset)")
}

// newDispatcher builds a dispatcher over s: webhooks, email when an SMTP
// server is configured, and the log for the default recipient. Long-running
// commands call it with their store (addDispatchFlags registers the flags).
func (o *dispatchOptions) newDispatcher(ps poolStore, log *slog.Logger) (*notify.Dispatcher, error) {
	s, ok := ps.(notifyStore)
	if !ok {
		return nil, fmt.Errorf("store %T keeps no notification recipients", ps)
	}
	if err := validateDurations(
		durationFlag{name: "send-timeout", value: o.timeout, min: 100 * time.Millisecond, max: time.Hour},
		durationFlag{name: "lease", value: o.lease, min: time.Second, max: 24 * time.Hour},
		durationFlag{name: "retry-base", value: o.backoff, min: 10 * time.Millisecond, max: 24 * time.Hour},
		durationFlag{name: "retry-max", value: o.backoffMax, min: 10 * time.Millisecond, max: 7 * 24 * time.Hour},
	); err != nil {
		return nil, err
	}
	if o.backoffMax < o.backoff {
		return nil, usageError{errors.New("--retry-max must be at least --retry-base")}
	}
	if o.lease < 2*o.timeout {
		// The dispatcher raises it (a send must not outlast its lease, or
		// another dispatcher sends the message again); say so.
		log.Warn("--lease is shorter than twice --send-timeout; using twice --send-timeout",
			"lease", o.lease.String(), "send_timeout", o.timeout.String(), "lease_used", (2 * o.timeout).String())
	}
	if err := validateCounts(countFlag{"batch", o.batch, 1, 10000}, countFlag{"max-attempts", o.maxAttempts, 1, 1000}); err != nil {
		return nil, err
	}
	links, err := notify.ParseLinkTemplate(o.linkTemplate)
	if err != nil {
		return nil, usageError{fmt.Errorf("--link-template: %w", err)}
	}
	rt := &notify.Router{
		Links:      links,
		Recipients: s,
		Webhook:    notify.NewWebhookTransport(notify.WebhookOptions{Timeout: o.timeout, UserAgent: "claimdrift/" + buildVersion()}),
		Fallback:   notify.NewLogTransport(log),
	}
	if o.smtpAddr != "" {
		smtpOpts := notify.SMTPOptions{Addr: o.smtpAddr, From: o.smtpFrom, Username: o.smtpUser, RequireTLS: o.smtpRequireTLS, Timeout: o.timeout}
		if o.smtpPWFile != "" {
			b, err := os.ReadFile(o.smtpPWFile)
			if err != nil {
				return nil, fmt.Errorf("read SMTP password file: %w", err)
			}
			smtpOpts.Password = notify.Secret(strings.TrimRight(string(b), "\r\n"))
		}
		if o.smtpCAFile != "" {
			pem, err := os.ReadFile(o.smtpCAFile)
			if err != nil {
				return nil, fmt.Errorf("read SMTP CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("SMTP CA file %s holds no PEM certificate", o.smtpCAFile)
			}
			host := o.smtpAddr
			if i := strings.LastIndexByte(host, ':'); i >= 0 {
				host = host[:i]
			}
			smtpOpts.TLSConfig = &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
		}
		email, err := notify.NewEmailTransport(smtpOpts)
		if err != nil {
			return nil, usageError{err}
		}
		rt.Email = email
	} else if o.smtpFrom != "" || o.smtpUser != "" || o.smtpPWFile != "" {
		return nil, usageError{errors.New("--smtp-from, --smtp-user and --smtp-password-file need --smtp-addr")}
	}
	return notify.NewDispatcher(s, rt, notify.DispatcherOptions{
		Lease: o.lease, SendTimeout: o.timeout, Batch: o.batch, MaxAttempts: o.maxAttempts,
		Backoff: notify.ExponentialBackoff(o.backoff, o.backoffMax), Logger: log,
	}), nil
}

// notifyRecipients is the reconcile.Options.Recipients of long-running
// and tracking commands: the template's recipients, else its
// organization's, else the defaults, else the log with a warning.
func notifyRecipients(s poolStore, log *slog.Logger) func(context.Context, reconcile.BuildContext) ([]string, error) {
	lister, ok := s.(notify.RecipientLister)
	if !ok {
		return nil
	}
	resolver := notify.NewResolver(lister, log)
	return func(ctx context.Context, bc reconcile.BuildContext) ([]string, error) {
		return resolver.Keys(ctx, notify.RecipientTarget{TemplateID: bc.TemplateID, Template: bc.Template, Organization: bc.Organization})
	}
}

type notifyDispatchOptions struct {
	dispatchOptions
	once     bool
	interval time.Duration
}

func newNotifyCmd(io ioStreams, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Deliver notifications to template admins",
	}
	o := &notifyDispatchOptions{}
	dispatch := &cobra.Command{
		Use:   "dispatch [--once] [--interval 10s]",
		Short: "Drain the outbox: send queued notifications to their recipients, retrying with backoff",
		Long: `Sends every due message in the outbox to its recipient (webhook, email, or
the log for the default recipient), once (--once) or continuously. Several
dispatchers may share one database: each message is leased to one of them at
a time. A recipient whose receiver is slow, hangs or fails delays only its
own messages.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDispatch(cmd.Context(), o, io, g) },
	}
	dispatch.Flags().BoolVar(&o.once, "once", false, "deliver what is due now and exit")
	dispatch.Flags().DurationVar(&o.interval, "interval", 10*time.Second, "how often to look for due messages")
	addDispatchFlags(dispatch, &o.dispatchOptions)
	cmd.AddCommand(dispatch)
	return cmd
}

func runDispatch(ctx context.Context, o *notifyDispatchOptions, io ioStreams, g *globalOptions) error {
	if err := validateDurations(durationFlag{name: "interval", value: o.interval, min: 100 * time.Millisecond, max: 24 * time.Hour}); err != nil {
		return err
	}
	log := logger(io)
	return withNotifyStore(ctx, io, g, func(s notifyStore) error {
		d, err := o.newDispatcher(s, log)
		if err != nil {
			return err
		}
		if o.once {
			res, err := d.DrainOnce(ctx)
			if err != nil {
				return fmt.Errorf("dispatch: %w", err)
			}
			msg := fmt.Sprintf("delivered %d, retrying %d, dead %d", res.Delivered, res.Retried, res.Dead)
			if res.Skipped > 0 {
				msg += fmt.Sprintf(", left %d for a dispatcher that can deliver them (email needs --smtp-addr)", res.Skipped)
			}
			_, err = fmt.Fprintln(io.Out, msg)
			return err
		}
		err = d.Run(ctx, o.interval)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
}
