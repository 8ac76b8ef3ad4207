package testenv

import "github.com/illumera/alignsync/internal/devenv"

// Align is an Align simulator serving on a loopback port (devenv.Align).
type Align = devenv.Align

// StartAlign serves a fresh simulator on a free loopback port, or on addr
// (devenv.StartAlign).
func StartAlign(addr string) (*Align, error) { return devenv.StartAlign(addr) }
