package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// parseServeSettings reads the chronik binary's "--set key=value" flags for
// a stand-in broker subcommand (kfake-serve, null-serve), accepting only the
// keys it names, so a benchmark can start any broker with one command line.
func parseServeSettings(cmd string, args []string, allowed ...string) (map[string]string, error) {
	settings := make(map[string]string)
	for i := 0; i < len(args); i++ {
		if args[i] != "--set" || i+1 == len(args) {
			return nil, fmt.Errorf("%s: want --set key=value pairs, got %q", cmd, args[i])
		}
		i++
		key, value, _ := strings.Cut(args[i], "=")
		if !slices.Contains(allowed, key) {
			return nil, fmt.Errorf("%s: unknown setting %q", cmd, key)
		}
		settings[key] = value
	}
	return settings, nil
}

// listenerPort reads the port of "PLAINTEXT://127.0.0.1:PORT"; stand-in
// brokers serve loopback only.
func listenerPort(cmd, listener string) (int, error) {
	hostPort, ok := strings.CutPrefix(listener, "PLAINTEXT://127.0.0.1:")
	n, err := strconv.Atoi(hostPort)
	if !ok || err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%s: listeners %q: want PLAINTEXT://127.0.0.1:PORT", cmd, listener)
	}
	return n, nil
}
