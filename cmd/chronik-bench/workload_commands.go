package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/chronik-go/chronik/bench"
)

func cmdConsume(ctx context.Context, argv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("consume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "comma-separated bootstrap host:port list (required)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cfg := bench.ConsumeConfig{}
	fs.StringVar(&cfg.Topic, "topic", "chronik-bench", "topic to read from its start to its end offsets at start-up")
	fs.IntVar(&cfg.Consumers, "consumers", 1, "consumer clients; partitions are dealt to them round robin")
	fs.BoolVar(&cfg.NoVerify, "no-verify", false, "only count records (for topics not written by chronik-bench produce, whose records carry no stamp)")
	fs.Func("fetch-max-bytes", "bytes per fetch response (default 50MiB)", byteSizeFlag(&cfg.FetchMaxBytes))
	fs.Func("fetch-max-partition-bytes", "bytes per partition in a fetch (default 1MiB)", byteSizeFlag(&cfg.FetchMaxPartitionBytes))
	fs.DurationVar(&cfg.Timeout, "timeout", bench.DefaultTimeout, "bound on the run")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *brokers == "" {
		return usageError{errors.New("--brokers is required")}
	}
	cfg.Brokers = strings.Split(*brokers, ",")
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	info := bench.NewRunInfo(argv, "")
	res, err := bench.RunConsume(ctx, cfg, progressWriter(stderr))
	if *asJSON {
		out := struct {
			bench.RunInfo
			Workload bench.ConsumeConfig `json:"workload"`
			Brokers  []string            `json:"brokers"`
			Result   bench.ConsumeResult `json:"result"`
			Error    string              `json:"error,omitempty"`
		}{RunInfo: info, Workload: cfg, Brokers: cfg.Brokers, Result: res}
		if err != nil {
			out.Error = err.Error()
		}
		if jerr := writeJSON(stdout, out); jerr != nil {
			return jerr
		}
		return err
	}
	if err != nil {
		return err
	}
	bench.WriteConsumeText(stdout, info, cfg, res)
	return nil
}

func cmdEndToEnd(ctx context.Context, argv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "comma-separated bootstrap host:port list (required)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cfg := bench.EndToEndConfig{}
	fs.IntVar(&cfg.Consumers, "consumers", 1, "consumer clients reading while the producers write")
	fs.DurationVar(&cfg.Drain, "drain", 0, "how long after the last ack consumers may take to catch up (default 30s)")
	pc := workloadFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *brokers == "" {
		return usageError{errors.New("--brokers is required")}
	}
	pc.Brokers = strings.Split(*brokers, ",")
	cfg.Produce = pc.WithDefaults()
	if err := cfg.Produce.Validate(); err != nil {
		return usageError{err}
	}
	info := bench.NewRunInfo(argv, "")
	res, err := bench.RunEndToEnd(ctx, cfg, progressWriter(stderr))
	if *asJSON {
		out := struct {
			bench.RunInfo
			Workload bench.EndToEndConfig `json:"workload"`
			Brokers  []string             `json:"brokers"`
			Result   bench.EndToEndResult `json:"result"`
			Error    string               `json:"error,omitempty"`
		}{RunInfo: info, Workload: cfg, Brokers: cfg.Produce.Brokers, Result: res}
		if err != nil {
			out.Error = err.Error()
		}
		if jerr := writeJSON(stdout, out); jerr != nil {
			return jerr
		}
		return err
	}
	if err != nil {
		return err
	}
	bench.WriteEndToEndText(stdout, info, cfg, res)
	return nil
}
