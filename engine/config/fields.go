package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The setters and getters below connect the key table to Config's typed
// fields. Setters trim surrounding whitespace, as Kafka does, and return a
// short problem ("not an integer") that the caller wraps with the key and
// where the value came from.

type integer interface {
	~int | ~int16 | ~int32 | ~int64
}

// parseInt parses a decimal integer and checks lo <= n <= hi.
func parseInt(v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			if strings.HasPrefix(strings.TrimSpace(v), "-") {
				return 0, fmt.Errorf("must be at least %d", lo)
			}
			return 0, fmt.Errorf("must be at most %d", hi)
		}
		return 0, errors.New("not an integer")
	}
	if n < lo {
		return 0, fmt.Errorf("must be at least %d", lo)
	}
	if n > hi {
		return 0, fmt.Errorf("must be at most %d", hi)
	}
	return n, nil
}

func intSetter[T integer](field func(*Config) *T, lo, hi int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := parseInt(v, lo, hi)
		if err != nil {
			return err
		}
		*field(c) = T(n)
		return nil
	}
}

func intGetter[T integer](field func(*Config) *T) func(*Config) string {
	return func(c *Config) string { return strconv.FormatInt(int64(*field(c)), 10) }
}

// ratioSetter reads a number between 0 and 1.
func ratioSetter(field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) {
			return errors.New("not a number")
		}
		if f < 0 || f > 1 {
			return errors.New("must be between 0 and 1")
		}
		*field(c) = f
		return nil
	}
}

func floatGetter(field func(*Config) *float64) func(*Config) string {
	return func(c *Config) string { return strconv.FormatFloat(*field(c), 'g', -1, 64) }
}

// durationSetter reads a whole number of unit. A negative value (allowed only
// when lo is -1) is stored as -1 unit and means "none"; a value past what a
// time.Duration holds (about 292 years) is stored as the largest Duration,
// which is forever in practice, because Kafka configs often use Long.MAX_VALUE
// for that.
func durationSetter(field func(*Config) *time.Duration, unit time.Duration, lo int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := parseInt(v, lo, math.MaxInt64)
		if err != nil {
			return err
		}
		d := time.Duration(math.MaxInt64)
		if n <= int64(math.MaxInt64/unit) {
			d = time.Duration(n) * unit
		}
		*field(c) = d
		return nil
	}
}

func durationGetter(field func(*Config) *time.Duration, unit time.Duration) func(*Config) string {
	return func(c *Config) string {
		d := *field(c)
		if d < 0 {
			return "-1"
		}
		if d == math.MaxInt64 && unit == time.Millisecond {
			// Saturated by the setter: Kafka's Long.MAX_VALUE ("no bound");
			// hour and minute synonyms are ints and keep the quotient.
			return strconv.FormatInt(math.MaxInt64, 10)
		}
		return strconv.FormatInt(int64(d/unit), 10)
	}
}

// boolSetter accepts true or false in any case, and nothing else, as Kafka.
func boolSetter(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch v = strings.TrimSpace(v); {
		case strings.EqualFold(v, "true"):
			*field(c) = true
		case strings.EqualFold(v, "false"):
			*field(c) = false
		default:
			return errors.New("not a boolean (want true or false)")
		}
		return nil
	}
}

func boolGetter(field func(*Config) *bool) func(*Config) string {
	return func(c *Config) string { return strconv.FormatBool(*field(c)) }
}

// enumSetter accepts one of choices in any case and stores it lower-case.
func enumSetter(field func(*Config) *string, choices ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.ToLower(strings.TrimSpace(v))
		for _, ch := range choices {
			if v == ch {
				*field(c) = ch
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(choices, ", "))
	}
}

// splitList splits a comma-separated list, trimming each entry, as Kafka's
// LIST type does. An empty or blank value is an empty list; an empty entry
// between commas is an error, since it is almost always a typo.
func splitList(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, errors.New("empty entry in comma-separated list")
		}
	}
	return parts, nil
}

func listField(field func(*Config) *[]string) func(*Config) string {
	return func(c *Config) string { return strings.Join(*field(c), ",") }
}

func logDirsField(c *Config, v string) error {
	dirs, err := splitList(v)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return errors.New("must name at least one directory")
	}
	c.LogDirs = dirs
	return nil
}

// clusterIDField accepts any id without spaces or control characters; Kafka
// generates base64 UUIDs, but an operator-chosen id is equally usable.
func clusterIDField(c *Config, v string) error {
	v = strings.TrimSpace(v)
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return errors.New("must not contain spaces or control characters")
		}
	}
	c.ClusterID = v
	return nil
}

// maxShards bounds num.shards well above any real machine's CPU count, so a
// stray extra digit is caught instead of starting thousands of threads.
const maxShards = 4096

// numShardsField resolves 0 to the usable CPUs when the value is set, so
// every reader of NumShards sees the count actually used.
func numShardsField(c *Config, v string) error {
	n, err := parseInt(v, 0, maxShards)
	if err != nil {
		return err
	}
	if n == 0 {
		n = int64(UsableCPUs())
	}
	c.NumShards = int(n)
	return nil
}
