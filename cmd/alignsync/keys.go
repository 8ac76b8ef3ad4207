package main

import (
	"strings"

	"github.com/illumera/alignsync/connect/credentials"
)

// parseKeyring reads --encryption-keys once, at validation, recording each of
// its problems; the command uses the keyring it returns (nil when spec is
// empty or bad, which validation has then reported).
func parseKeyring(f *flagSet, spec string) *credentials.Keyring {
	if spec == "" {
		return nil
	}
	kr, err := credentials.ParseKeyring(spec)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			f.Problem("--encryption-keys: %s", line)
		}
	}
	return kr
}
