package connect

import (
	"log/slog"
	"strings"

	"github.com/illumera/alignsync/sinks/align"
)

// minLeak is the shortest run of a secret's characters treated as a leak.
// Align's own error messages quote a key's visible prefix ("ako_" and eight
// characters), which is more than the last four that may be shown.
const minLeak = 6

// scrub removes from msg every run of at least minLeak characters that also
// occurs in one of the secrets.
func scrub(msg string, secrets ...string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		n := longestRunIn(msg[i:], secrets)
		if n >= minLeak {
			b.WriteString("…")
			i += n
			continue
		}
		b.WriteByte(msg[i])
		i++
	}
	return b.String()
}

// longestRunIn is the length of the longest prefix of s found in a secret.
func longestRunIn(s string, secrets []string) int {
	best := 0
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		n := best + 1
		for n <= len(s) && strings.Contains(secret, s[:n]) {
			n++
		}
		if n-1 > best {
			best = n - 1
		}
	}
	return best
}

// errorAttr logs err with every trace of the secrets removed.
func errorAttr(err error, secrets ...string) slog.Attr {
	return slog.String("error", scrub(err.Error(), secrets...))
}

// redactedKey is how a key appears in logs: its last four characters.
func redactedKey(key string) slog.Attr { return slog.String("key", align.RedactKey(key)) }
