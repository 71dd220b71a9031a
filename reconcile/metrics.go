package reconcile

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names.
const (
	MetricReplacements    = "claimdrift_prebuilt_workspaces_resource_replacements_total"
	MetricCreated         = "claimdrift_prebuilt_workspaces_created_total"
	MetricFailed          = "claimdrift_prebuilt_workspaces_failed_total"
	MetricClaimed         = "claimdrift_prebuilt_workspaces_claimed_total"
	MetricDesired         = "claimdrift_prebuilt_workspaces_desired"
	MetricRunning         = "claimdrift_prebuilt_workspaces_running"
	MetricEligible        = "claimdrift_prebuilt_workspaces_eligible"
	MetricPresetStatus    = "claimdrift_prebuilt_workspaces_preset_status"
	MetricReconcileSecs   = "claimdrift_prebuilt_workspaces_reconcile_duration_seconds"
	MetricMetricsReadErrs = "claimdrift_prebuilt_workspaces_metrics_read_errors_total"
)

var presetLabels = []string{"template_name", "preset_name", "organization_name"}

// Collector is a prometheus.Collector that reads the pool's metrics from
// the store on every scrape, so counters survive restarts and agree across
// replicas.
type Collector struct {
	store   Store
	policy  Policy
	now     func() time.Time
	timeout time.Duration
	logger  *slog.Logger

	replacements, created, failed, claimed *prometheus.Desc
	desired, running, eligible, status     *prometheus.Desc
	duration, readErrors                   *prometheus.Desc
	errCount                               float64
}

// CollectorOptions configure a Collector; zero fields take defaults.
type CollectorOptions struct {
	Policy  Policy
	Now     func() time.Time
	Timeout time.Duration
	Logger  *slog.Logger
}

// NewCollector returns a collector over store.
func NewCollector(store Store, opts CollectorOptions) *Collector {
	if opts.Policy == (Policy{}) {
		opts.Policy = DefaultPolicy()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(append([]string{}, presetLabels...), extra...), nil)
	}
	return &Collector{
		store: store, policy: opts.Policy, now: opts.Now, timeout: opts.Timeout, logger: opts.Logger,
		replacements: d(MetricReplacements, "Claim builds whose plan replaced at least one resource."),
		created:      d(MetricCreated, "Prebuilt workspaces created successfully."),
		failed:       d(MetricFailed, "Prebuilt workspace creations that failed."),
		claimed:      d(MetricClaimed, "Prebuilt workspaces claimed by users."),
		desired:      d(MetricDesired, "Prebuilt workspaces the preset wants now."),
		running:      d(MetricRunning, "Prebuilt workspaces running (ready), any version."),
		eligible:     d(MetricEligible, "Prebuilt workspaces ready to be claimed."),
		status:       d(MetricPresetStatus, "1 for the preset's current status, 0 for the others.", "status"),
		duration:     prometheus.NewDesc(MetricReconcileSecs, "Duration of the last reconcile pass.", nil, nil),
		readErrors:   prometheus.NewDesc(MetricMetricsReadErrs, "Scrapes that could not read the store.", nil, nil),
	}
}

// Register registers the collector on reg.
func (c *Collector) Register(reg prometheus.Registerer) error { return reg.Register(c) }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.replacements, c.created, c.failed, c.claimed, c.desired, c.running, c.eligible, c.status, c.duration, c.readErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	states, err := readStates(ctx, c.store, c.now(), c.policy, DefaultHistoryLimit)
	if err != nil {
		c.errCount++
		c.logger.Error("collect pool metrics", "error", err.Error())
	}
	ch <- prometheus.MustNewConstMetric(c.readErrors, prometheus.CounterValue, c.errCount)
	for _, s := range states {
		// Label values must be valid UTF-8, or the whole scrape fails;
		// names written by older versions may not be.
		l := []string{SafeLabel(s.Template), SafeLabel(s.Preset), SafeLabel(s.Organization)}
		ch <- prometheus.MustNewConstMetric(c.replacements, prometheus.CounterValue, float64(s.ClaimsReplaced), l...)
		ch <- prometheus.MustNewConstMetric(c.created, prometheus.CounterValue, float64(s.Created), l...)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(s.Failed), l...)
		ch <- prometheus.MustNewConstMetric(c.claimed, prometheus.CounterValue, float64(s.Claims), l...)
		ch <- prometheus.MustNewConstMetric(c.desired, prometheus.GaugeValue, float64(s.Desired), l...)
		ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(s.Running), l...)
		ch <- prometheus.MustNewConstMetric(c.eligible, prometheus.GaugeValue, float64(s.Eligible), l...)
		for _, st := range PresetStatuses {
			v := 0.0
			if s.Status == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.status, prometheus.GaugeValue, v, append(l, string(st))...)
		}
	}
	if err == nil {
		if d, _, err := c.store.LastPassDuration(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, d.Seconds())
		}
	}
}
