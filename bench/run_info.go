package bench

import (
	"os/exec"
	"strings"
	"time"
)

// RunInfo heads every report: the machine, when, and the exact command, which
// a published figure must carry.
type RunInfo struct {
	Date    string `json:"date"` // RFC 3339, UTC
	Command string `json:"command"`
	// Commit is the git commit of the working tree the run was started
	// in, with "+dirty" when broker sources differed from it.
	Commit  string  `json:"commit,omitempty"`
	Machine Machine `json:"machine"`
}

// NewRunInfo describes a run starting now. args is the command line as run
// (os.Args); dataDir is where broker data lives ("" when none).
func NewRunInfo(args []string, dataDir string) RunInfo {
	return RunInfo{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Command: ShellQuote(args),
		Commit:  gitCommit(),
		Machine: DescribeMachine(dataDir),
	}
}

// ShellQuote joins args into a line a POSIX shell would split back into the
// same args, so the printed command can be pasted to reproduce a figure.
func ShellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuoteOne(a)
	}
	return strings.Join(quoted, " ")
}

func shellQuoteOne(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// gitCommit names the checked-out commit, marked +dirty when the broker's
// sources have uncommitted changes (the binary measured was built from
// them). Outside a git work tree it is "".
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	status, err := exec.Command("git", "status", "--porcelain", "--", "cmd/chronik", "engine", "netpoll", "uring", "numa", "raftmeta").Output()
	if err == nil && len(strings.TrimSpace(string(status))) > 0 {
		commit += "+dirty"
	}
	return commit
}
