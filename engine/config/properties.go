package config

import (
	"fmt"
	"strconv"
	"strings"
)

// property is one key=value pair of a properties file and the line where its
// logical line starts, for error messages.
type property struct {
	key, value string
	line       int
}

// parseProperties reads the Java properties format that Kafka's
// server.properties uses: "key=value", "key: value" or "key value"; lines
// starting with # or ! are comments; a line ending in an odd number of
// backslashes continues on the next; \t \n \r \f \uXXXX and \<char> escapes.
// Keys and values are trimmed. The text is read as UTF-8 (Java reads
// ISO-8859-1), which only differs for bytes a real config does not contain.
func parseProperties(text string) ([]property, error) {
	text = strings.TrimPrefix(text, "\ufeff")
	lines := splitLines(text)
	var props []property
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// Join continuation lines; a continued line's leading whitespace is
		// dropped and comment markers there are plain text, as in Java.
		var logical strings.Builder
		for {
			cont := trailingBackslashes(line)%2 == 1
			if !cont {
				logical.WriteString(line)
				break
			}
			logical.WriteString(line[:len(line)-1])
			if i+1 >= len(lines) {
				break
			}
			i++
			line = strings.TrimLeft(lines[i], " \t\f")
		}
		rawKey, rawValue := splitKeyValue(logical.String())
		key, err := unescapeProperty(rawKey)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		value, err := unescapeProperty(rawValue)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		props = append(props, property{key: strings.TrimSpace(key), value: strings.TrimSpace(value), line: start})
	}
	return props, nil
}

// splitLines splits on \n, \r\n or a lone \r.
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

func trailingBackslashes(s string) int {
	n := 0
	for n < len(s) && s[len(s)-1-n] == '\\' {
		n++
	}
	return n
}

// splitKeyValue splits a logical line at the first unescaped '=', ':' or
// whitespace; whitespace around the separator, and one '=' or ':' after
// whitespace, belong to neither side. Both parts are still escaped.
func splitKeyValue(line string) (key, value string) {
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++ // skip the escaped byte
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	key = line[:end]
	rest := line[end:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, rest
}

// unescapeProperty resolves backslash escapes.
func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\uxxxx escape in %q", s)
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\uxxxx escape in %q", s)
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
