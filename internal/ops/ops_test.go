package ops

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A body that stops arriving is given up after the read timeout: the
// handler's read fails and the connection is closed, instead of holding a
// goroutine and a connection for as long as the client likes.
func TestSlowBodyTimesOut(t *testing.T) {
	readErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})
	s, err := start("127.0.0.1:0", h, nil, timeouts{readHeader: time.Second, read: 300 * time.Millisecond,
		write: time.Second, idle: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 100 bytes announced, 10 sent, then nothing.
	if _, err := io.WriteString(conn, "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("reading the stalled body ended with %v, want a timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the handler still waits for the body 20 s later: no read timeout")
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the server did not close the stalled connection: %v", err)
	}
}

// Every listener Start opens has read, write and idle timeouts, not only
// the header timeout.
func TestStartSetsEveryTimeout(t *testing.T) {
	s, err := Start("127.0.0.1:0", http.NotFoundHandler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := map[string]time.Duration{"ReadHeaderTimeout": s.srv.ReadHeaderTimeout, "ReadTimeout": s.srv.ReadTimeout,
		"WriteTimeout": s.srv.WriteTimeout, "IdleTimeout": s.srv.IdleTimeout}
	for name, d := range got {
		if d <= 0 {
			t.Errorf("%s is %v, want a bound", name, d)
		}
	}
	if s.srv.WriteTimeout < time.Minute {
		t.Errorf("WriteTimeout %v leaves no room for a connect that calls Align", s.srv.WriteTimeout)
	}
}

// Every HTTP server the binary starts is started by Start, so none lacks the
// timeouts: no other code builds an http.Server.
func TestNoOtherHTTPServer(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == here {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.CompositeLit); ok {
				if sel, ok := lit.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Server" {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "http" {
						t.Errorf("%s: builds an http.Server; use ops.Start, which sets every timeout", fset.Position(lit.Pos()))
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
