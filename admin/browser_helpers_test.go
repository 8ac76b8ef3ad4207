package admin_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless chromium driving serve's admin pages.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot int
	// pages holds the source of every page shown, to search for secrets.
	pages []string
}

// newBrowser starts chromium with a fresh profile. A missing chromium fails
// the test: the pages are part of the product.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser tests need Debian's chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		// Times are shown in the viewer's zone; a fixed one keeps screenshots alike.
		chromedp.Env("TZ=UTC"),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: base}
}

// do runs actions that return nothing.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open loads a page of serve and returns its HTTP status.
func (b *browser) open(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("opening %s: %v", path, err)
	}
	b.record()
	return resp.Status
}

// submit clicks a button that sends a form and returns the HTTP status of
// the page it leads to (after redirects).
func (b *browser) submit(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
	b.record()
	return resp.Status
}

func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// text is the visible text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	a, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		b.t.Fatalf("reading %s[%s]: %v", sel, name, err)
	}
	return a.Value
}

// count is how many elements sel matches now.
func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		b.t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}

// wantText fails unless the element's text is want.
func (b *browser) wantText(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); got != want {
		b.t.Fatalf("%s shows %q, want %q", sel, got, want)
	}
}

// source is the page's HTML as the browser holds it.
func (b *browser) source() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.documentElement.outerHTML"))
	if err != nil {
		b.t.Fatalf("reading the page source: %v", err)
	}
	return s
}

func (b *browser) record() { b.pages = append(b.pages, b.source()) }

// screenshot writes the whole page to the screenshot directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.shot++
	path := filepath.Join(screenshotDir(b.t), fmt.Sprintf("%s-%02d-%s.png", b.t.Name(), b.shot, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// screenshotDir is $ALIGNSYNC_SCREENSHOTS, or testdata/screenshots in the
// package (ignored by git): t.TempDir would delete them.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ALIGNSYNC_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		t.Fatalf("screenshot directory: %v", err)
	}
	return abs
}

// noSecret fails if any page shown so far contains one of the secrets, or
// any eight characters of one (the last four alone may be shown).
func (b *browser) noSecret(secrets ...string) {
	b.t.Helper()
	for _, page := range b.pages {
		for _, sec := range secrets {
			for i := 0; i+8 <= len(sec); i++ {
				if strings.Contains(page, sec[i:i+8]) {
					b.t.Fatalf("a page source contains part of a secret (…%s): %q", sec[len(sec)-4:], sec[i:i+8])
				}
			}
		}
	}
}

// pollPage reloads path until check accepts what it shows, failing after
// the deadline.
func (b *browser) pollPage(path, what string, deadline time.Duration, check func() bool) {
	b.t.Helper()
	end := time.Now().Add(deadline)
	for {
		b.open(path)
		if check() {
			return
		}
		if time.Now().After(end) {
			b.t.Fatalf("timed out waiting for the page %s to show %s", path, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls cond until the deadline.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
