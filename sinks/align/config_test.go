package align

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{BaseURL: "https://app.alignsoft.us/api/v1", APIKey: testKey}, ""},
		{"trailing slash ok", Config{BaseURL: "http://127.0.0.1:8089/api/v1/", APIKey: testKey}, ""},
		{"empty base", Config{APIKey: testKey}, "base URL"},
		{"no scheme", Config{BaseURL: "app.alignsoft.us/api/v1", APIKey: testKey}, "base URL"},
		{"ftp", Config{BaseURL: "ftp://app.alignsoft.us", APIKey: testKey}, "base URL"},
		{"query", Config{BaseURL: "https://app.alignsoft.us/api/v1?x=1", APIKey: testKey}, "no query"},
		{"empty key", Config{BaseURL: "https://app.alignsoft.us/api/v1"}, "API key is empty"},
		{"key with newline", Config{BaseURL: "https://a.b", APIKey: testKey + "\nX: y"}, "control characters"},
		{"negative attempts", Config{BaseURL: "https://a.b", APIKey: testKey, MaxAttempts: -1}, "MaxAttempts"},
		{"all problems listed", Config{MaxAttempts: -1}, "MaxAttempts is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error reveals the key: %v", err)
			}
		})
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	cfg := Config{BaseURL: "https://app.alignsoft.us/api/v1", APIKey: testKey}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "align", cfg)
	for name, s := range map[string]string{
		"Config %v": fmt.Sprintf("%v", cfg), "Config %+v": fmt.Sprintf("%+v", cfg),
		"Client %v": fmt.Sprintf("%v", c), "slog": logged.String(),
	} {
		if strings.Contains(s, testKey) || strings.Contains(s, testKey[:len(testKey)-4]) {
			t.Errorf("%s reveals the key: %s", name, s)
		}
		if !strings.Contains(s, "WXYZ") {
			t.Errorf("%s lacks the last four characters: %s", name, s)
		}
	}
	if got := RedactKey("short"); got != "…" {
		t.Errorf("RedactKey(short) = %q", got)
	}
}

func TestHoursFromMinutes(t *testing.T) {
	tests := map[int]string{0: "0", 1: "0.25", 7: "0.25", 8: "0.25", 10: "0.25", 22: "0.25", 23: "0.5",
		45: "0.75", 60: "1", 100: "1.75", 150: "2.5", 1440: "24"}
	for minutes, want := range tests {
		if got := HoursFromMinutes(minutes); got != want {
			t.Errorf("HoursFromMinutes(%d) = %q, want %q", minutes, got, want)
		}
	}
}
