package main

import (
	"context"
	"errors"
	"fmt"
	goio "io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/analyzer/tfshow"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/api"
)

// remoteOptions select the client mode of track and claim: the server's
// API instead of the database.
type remoteOptions struct {
	server, tokenFile string
	retry             time.Duration
}

func addRemoteFlags(cmd *cobra.Command, o *remoteOptions) {
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "URL of a claimdrift serve: use its API instead of the database (needs --token-file)")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the API token for --server")
	f.DurationVar(&o.retry, "server-retry", 30*time.Second, "keep trying this long while --server cannot be reached or answers 502, 503 or 504 (a plan from a file or not read yet is sent again; a claim only when it could not connect); 0: try once")
}

// client is the API client of o; it says on errOut when it tries again.
func (o *remoteOptions) client(errOut goio.Writer) (*api.Client, error) {
	if o.tokenFile == "" {
		return nil, usageError{errors.New("--server needs --token-file")}
	}
	b, err := os.ReadFile(o.tokenFile)
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return nil, usageError{fmt.Errorf("token file %s is empty", o.tokenFile)}
	}
	if o.retry < 0 {
		return nil, usageError{fmt.Errorf("--server-retry %s: want 0 or more", o.retry)}
	}
	// A connection pool of its own: a command's requests never go out on
	// a connection an earlier command (in the same process) left idle to a
	// server that has since died.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	return &api.Client{BaseURL: o.server, Token: token, HTTP: hc, Retry: o.retry, OnRetry: func(err error, wait time.Duration) {
		fmt.Fprintf(errOut, "claimdrift: %v; trying again in %s\n", err, wait)
	}}, nil
}

// runTrackRemote uploads the plan to the server (streamed; a binary plan
// is shown with terraform here first).
func runTrackRemote(ctx context.Context, o *trackOptions, io ioStreams) error {
	ws, err := uuid.Parse(o.workspace)
	if err != nil {
		return usageError{fmt.Errorf("--workspace %q: want a UUID", o.workspace)}
	}
	build, err := uuid.Parse(o.build)
	if err != nil {
		return usageError{fmt.Errorf("--build %q: want a UUID", o.build)}
	}
	c, err := o.remote.client(io.ErrOut)
	if err != nil {
		return err
	}
	defer c.HTTP.CloseIdleConnections()
	rc, err := tfshow.OpenPlan(ctx, o.plan, io.In, tfshow.OpenOptions{
		Options: tfshow.Options{Explicit: o.src.terraform, ExtraDirs: toolDirs()},
		Dir:     o.src.chdir,
	})
	if err != nil {
		return err
	}
	// The HTTP client closes a body it can close; rc is closed here, where
	// a failed `terraform show` reports its error. A plan file can be read
	// again, so it can be sent again (--server-retry).
	body := goio.Reader(struct{ goio.Reader }{rc})
	if rs, ok := rc.(goio.ReadSeeker); ok {
		body = struct{ goio.ReadSeeker }{rs}
	}
	ans, already, err := c.TrackPlan(ctx, ws, build, body, api.TrackOptions{Preset: o.preset, Template: o.template, User: o.user})
	if cerr := rc.Close(); err == nil && cerr != nil {
		return fmt.Errorf("read plan: %w", cerr)
	}
	if err != nil {
		return err
	}
	switch {
	case already:
		fmt.Fprintf(io.Out, "build %s was already tracked: %d replacements recorded, nothing changed\n", build, ans.Recorded)
	case ans.Recorded == 0:
		fmt.Fprintf(io.Out, "build %s tracked: nothing replaced\n", build)
	default:
		fmt.Fprintf(io.Out, "build %s tracked: %d replacements recorded\n", build, ans.Recorded)
	}
	if o.failOnReplace && ans.Recorded > 0 {
		return errFindings
	}
	return nil
}

// runClaimRemote claims through the server; the server runs its own
// --claim-cmd, if any.
func runClaimRemote(ctx context.Context, o *claimOptions, io ioStreams) error {
	if o.preset == "" {
		return usageError{errors.New("--preset is required")}
	}
	key := o.preset
	if _, err := uuid.Parse(o.preset); err != nil {
		if o.template == "" {
			return usageError{errors.New("with --server, pass --template with a preset name (or the preset id)")}
		}
		key = o.template + "/" + o.preset
	}
	c, err := o.remote.client(io.ErrOut)
	if err != nil {
		return err
	}
	defer c.HTTP.CloseIdleConnections()
	ans, err := c.Claim(ctx, key, o.user, o.name)
	if errors.Is(err, reconcile.ErrNoClaimablePrebuilds) {
		return fmt.Errorf("preset %s has no ready prebuild to claim (see `claimdrift status`)", key)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(io.Out, ans.WorkspaceID)
	fmt.Fprintf(io.ErrOut, "claimed %s for %s (build %s, %s)\n", ans.WorkspaceName, o.user, ans.BuildID, ans.BuildStatus)
	if ans.Error != "" {
		return fmt.Errorf("claim build %s failed: %s", ans.BuildID, ans.Error)
	}
	return nil
}
