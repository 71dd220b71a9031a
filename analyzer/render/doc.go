// Package render writes an analyzer.Report in the formats claimdrift
// prints: text for a terminal, JSON (schema claimdrift.report/v1), markdown
// for a pull-request comment, and GitHub Actions workflow commands.
//
// Rendering is pure: a report and options in, bytes out to the writer.
// Every value printed is taken from the report, where sensitive values are
// already masked; text outputs also neutralise control characters so that a
// hostile plan cannot drive the terminal or inject workflow commands.
package render
