package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/notify"
)

// addNotifyCommands registers `admins`, `outbox` and `notify` (issue 6).
func addNotifyCommands(root *cobra.Command, io ioStreams, g *globalOptions) {
	root.AddCommand(newAdminsCmd(io, g), newOutboxCmd(io, g), newNotifyCmd(io, g))
}

// notifyStore is what the notification commands need from a store; both
// store packages provide it.
type notifyStore interface {
	poolStore
	AddRecipient(ctx context.Context, r notify.Recipient) (notify.Recipient, error)
	ListRecipients(ctx context.Context) ([]notify.Recipient, error)
	Recipient(ctx context.Context, id uuid.UUID) (notify.Recipient, error)
	RemoveRecipient(ctx context.Context, id uuid.UUID) error
	OutboxList(ctx context.Context, status string) ([]notify.OutboxEntry, error)
	RetryOutboxMessage(ctx context.Context, id uuid.UUID, now time.Time) error
}

// withNotifyStore opens the store for a notification command.
func withNotifyStore(ctx context.Context, io ioStreams, g *globalOptions, fn func(s notifyStore) error) error {
	return withStore(ctx, io, g, func(s poolStore) error {
		ns, ok := s.(notifyStore)
		if !ok {
			return fmt.Errorf("store %T keeps no notification recipients", s)
		}
		return fn(ns)
	})
}

// resolveID finds the one id that equals or starts with arg.
func resolveID(arg, what string, ids []uuid.UUID) (uuid.UUID, error) {
	arg = strings.ToLower(strings.TrimSpace(arg))
	if len(arg) < 4 {
		return uuid.Nil, usageError{fmt.Errorf("%s id %q: give at least 4 characters", what, arg)}
	}
	var found []uuid.UUID
	for _, id := range ids {
		if strings.HasPrefix(id.String(), arg) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return uuid.Nil, fmt.Errorf("no %s with id %s", what, arg)
	case 1:
		return found[0], nil
	}
	return uuid.Nil, fmt.Errorf("%s id %s is ambiguous (%d match); give more characters", what, arg, len(found))
}

// recipientLabel says where a message goes, without secrets.
func recipientLabel(key string, byID map[string]notify.Recipient) string {
	if key == "" {
		return "(default: log)"
	}
	r, ok := byID[key]
	if !ok {
		return "(removed " + shortID(key) + ")"
	}
	return string(r.Channel) + " " + r.Target()
}

func shortID(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func recipientsByID(ctx context.Context, s notifyStore) (map[string]notify.Recipient, error) {
	list, err := s.ListRecipients(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]notify.Recipient, len(list))
	for _, r := range list {
		m[r.Key()] = r
	}
	return m, nil
}

var errNoRecipientFlag = errors.New("give --webhook URL or --email ADDR")
