package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Usage is the command line Load understands.
const Usage = "chronik [--config FILE] [--set key=value]... [--add-scram MECHANISM=[name=NAME,password=PASSWORD]]... [--help-config]"

// ErrHelpRequested is returned by Load when the arguments ask for the key
// list; the caller prints WriteHelp and exits successfully.
var ErrHelpRequested = errors.New("config: help requested")

// envPrefix starts every environment variable that sets a key.
const envPrefix = "CHRONIK_"

// EnvName is the environment variable that sets key: CHRONIK_ and the key in
// upper case with dots as underscores (log.dirs: CHRONIK_LOG_DIRS).
func EnvName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// envIndex maps each key's environment variable name to the key.
var envIndex = func() map[string]string {
	m := make(map[string]string, len(keyTable))
	for i := range keyTable {
		m[EnvName(keyTable[i].name)] = keyTable[i].name
	}
	for k := range takenKafkaKeys {
		m[EnvName(k)] = k
	}
	return m
}()

type sourceKind int

const (
	fromFile sourceKind = iota
	fromEnv
	fromFlag
)

// source is where one assignment came from, for error messages.
type source struct {
	kind sourceKind
	path string // fromFile
	line int    // fromFile
	env  string // fromEnv: the variable's name
}

func (s source) String() string {
	switch s.kind {
	case fromFile:
		return fmt.Sprintf("%s line %d", s.path, s.line)
	case fromEnv:
		return "environment " + s.env
	}
	return "--set"
}

// assignment is one key=value from one source.
type assignment struct {
	key, value string
	src        source
}

// badValue words a rejected value as one line naming key and source.
func (a assignment) badValue(problem error) error {
	if a.src.kind == fromFlag {
		return fmt.Errorf("config: --set %s=%s: %w", a.key, shown(a.key, a.value), problem)
	}
	return fmt.Errorf("config: %s=%s (from %s): %w", a.key, shown(a.key, a.value), a.src, problem)
}

func (a assignment) unknownKey() error {
	return fmt.Errorf("config: unknown key %q (from %s)%s", a.key, a.src, suggestion(a.key))
}

// commandLine is what the arguments ask for.
type commandLine struct {
	configFile string
	sets       []assignment
	scramUsers []ScramUser
	help       bool
}

// Load builds the broker's Config from its command line (without the program
// name) and environment (os.Environ form), implementing
//
//	chronik [--config FILE] [--set key=value]... [--add-scram ...]... [--help-config]
//
// Sources apply in this order, each overriding the one before: defaults, the
// properties file, CHRONIK_* environment variables, --set flags in order.
// Flags may also be written --config=FILE and --set=key=value. Every error is
// one line naming the key and its source. With --help-config (or -h, --help)
// Load returns ErrHelpRequested and no Config.
//
// As in Kafka, when a setting is given in several units (log.retention.ms,
// .minutes, .hours), the finest unit set anywhere wins, whatever its source;
// a coarser one given later is checked, logged as ignored, and not applied.
func Load(args []string, environ []string) (*Config, error) {
	cl, err := parseCommandLine(args)
	if cl.help {
		return nil, ErrHelpRequested
	}
	if err != nil {
		return nil, err
	}
	var as []assignment
	if cl.configFile != "" {
		fileAs, err := readPropertiesFile(cl.configFile)
		if err != nil {
			return nil, err
		}
		as = append(as, fileAs...)
	}
	envAs, err := environmentAssignments(environ)
	if err != nil {
		return nil, err
	}
	as = append(as, envAs...)
	as = append(as, cl.sets...)

	c := Defaults()
	if err := apply(c, as); err != nil {
		return nil, err
	}
	c.ScramUsers = cl.scramUsers
	// The listener keys name each other; checked once all are in.
	if _, err := c.ListenerSpecs(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseCommandLine reads the flags. It reports help even when another
// argument is wrong, so --help-config always works.
func parseCommandLine(args []string) (commandLine, error) {
	var cl commandLine
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, inline, hasInline := strings.Cut(arg, "=")
		// Accept -flag as well as --flag, as Go's flag package does.
		if strings.HasPrefix(name, "-") && !strings.HasPrefix(name, "--") {
			name = "-" + name
		}
		// value returns the flag's argument, inline or the next one.
		value := func() (string, bool) {
			if hasInline {
				return inline, true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		switch name {
		case "--help-config", "--help", "--h":
			cl.help = true
		case "--config":
			path, ok := value()
			switch {
			case !ok || path == "":
				fail(errors.New("config: --config needs a file name"))
			case cl.configFile != "":
				fail(fmt.Errorf("config: --config given twice (%s and %s)", cl.configFile, path))
			default:
				cl.configFile = path
			}
		case "--set":
			kv, ok := value()
			if !ok {
				fail(errors.New("config: --set needs key=value"))
				continue
			}
			key, val, ok := strings.Cut(kv, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" {
				fail(fmt.Errorf("config: --set %q: want key=value", kv))
				continue
			}
			cl.sets = append(cl.sets, assignment{key: key, value: val, src: source{kind: fromFlag}})
		case "--add-scram":
			v, ok := value()
			if !ok {
				fail(errors.New("config: --add-scram needs MECHANISM=[name=NAME,password=PASSWORD]"))
				continue
			}
			u, err := parseScramUser(v)
			if err != nil {
				fail(fmt.Errorf("config: --add-scram: %w", err)) // never the argument: it holds a password
				continue
			}
			cl.scramUsers = append(cl.scramUsers, u)
		default:
			fail(fmt.Errorf("config: unknown argument %q (usage: %s)", arg, Usage))
		}
	}
	return cl, firstErr
}

func readPropertiesFile(path string) ([]assignment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read config file: %w", err)
	}
	props, err := parseProperties(string(data))
	if err != nil {
		return nil, fmt.Errorf("config: %s %w", path, err)
	}
	as := make([]assignment, len(props))
	for i, p := range props {
		as[i] = assignment{key: p.key, value: p.value, src: source{kind: fromFile, path: path, line: p.line}}
	}
	return as, nil
}

// environmentAssignments picks the CHRONIK_* variables out of environ. One
// that names no key is an error, so a typo does not go unnoticed.
func environmentAssignments(environ []string) ([]assignment, error) {
	var as []assignment
	for _, e := range environ {
		name, value, _ := strings.Cut(e, "=")
		upper := strings.ToUpper(name)
		if !strings.HasPrefix(upper, envPrefix) {
			continue
		}
		src := source{kind: fromEnv, env: name}
		key, ok := envIndex[upper]
		if !ok {
			key, ok = listenerKeyEnv(upper)
		}
		if !ok {
			guess := strings.ToLower(strings.ReplaceAll(upper[len(envPrefix):], "_", "."))
			return nil, assignment{key: guess, value: value, src: src}.unknownKey()
		}
		as = append(as, assignment{key: key, value: value, src: src})
	}
	return as, nil
}

// apply writes the assignments into c in order, keeping Kafka's rule that the
// finest unit of a setting wins over coarser synonyms.
func apply(c *Config, as []assignment) error {
	type unitChoice struct {
		rank int
		key  string
	}
	finest := make(map[string]unitChoice)
	for _, a := range as {
		k := lookupKey(a.key)
		if k == nil {
			return a.unknownKey()
		}
		setting := k.name
		if k.synonymOf != "" {
			setting = k.synonymOf
		}
		if prev, ok := finest[setting]; ok && k.rank > prev.rank {
			scratch := *c
			if err := k.set(&scratch, a.value); err != nil {
				return a.badValue(err)
			}
			slog.Warn("config: ignoring a coarser unit of a setting already given in a finer one, as Kafka does",
				"key", a.key, "value", a.value, "from", a.src.String(), "in_effect", prev.key)
			continue
		}
		if err := k.set(c, a.value); err != nil {
			return a.badValue(err)
		}
		finest[setting] = unitChoice{rank: k.rank, key: k.name}
	}
	return nil
}
