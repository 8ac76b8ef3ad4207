package alignsim

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestIntegrationEntryHoursFromMinutes(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	tests := []struct {
		minutes    int
		wantStatus int
		wantHours  string
	}{
		{10, 201, "0.25"},
		{45, 201, "0.75"},
		{100, 201, "1.75"},
		{150, 201, "2.5"},
		{1, 201, "0.25"},
		{7, 201, "0.25"},
		{22, 201, "0.25"},
		{23, 201, "0.5"},
		{120, 201, "2"},
		{1440, 201, "24"},
		{0, 400, ""},
		{1441, 400, ""},
		{-5, 400, ""},
	}
	for i, tt := range tests {
		res := f.api.do("POST", "/integration/time-entries", f.entryBody("h"+string(rune('a'+i)), tt.minutes))
		if res.status != tt.wantStatus {
			t.Fatalf("minutes %d: status %d, want %d: %s", tt.minutes, res.status, tt.wantStatus, res.body)
		}
		if tt.wantStatus != 201 {
			if msg := res.errorMessage(t); !strings.Contains(msg, "minutes") {
				t.Errorf("minutes %d: message %q does not name the field", tt.minutes, msg)
			}
			continue
		}
		var got entryView
		res.decode(t, &got)
		if got.Hours != tt.wantHours || got.Minutes != tt.minutes {
			t.Errorf("minutes %d: hours %q minutes %d, want %q %d", tt.minutes, got.Hours, got.Minutes, tt.wantHours, tt.minutes)
		}
	}
}

func TestProjectEntryHoursOrMinutes(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	tests := []struct {
		name        string
		fields      string // JSON members added to userId and workDate
		wantStatus  int
		wantMinutes int
		wantHours   string
	}{
		{"hours string", `"hours":"1.75"`, 201, 105, "1.75"},
		{"hours number", `"hours":2.5`, 201, 150, "2.5"},
		{"whole hours", `"hours":"3"`, 201, 180, "3"},
		{"minutes wins", `"minutes":45,"hours":"8"`, 201, 45, "0.75"},
		{"minutes wins over bad hours", `"minutes":45,"hours":"bad"`, 201, 45, "0.75"},
		{"max hours", `"hours":"24"`, 201, 1440, "24"},
		{"not a quarter", `"hours":"0.3"`, 400, 0, ""},
		{"above 24", `"hours":"24.25"`, 400, 0, ""},
		{"zero hours", `"hours":"0"`, 400, 0, ""},
		{"hours not decimal", `"hours":"1e0"`, 400, 0, ""},
		{"neither", `"description":"x"`, 400, 0, ""},
		{"bad minutes", `"minutes":0,"hours":"1"`, 400, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"userId":"` + f.userID + `","workDate":"2026-11-20",` + tt.fields + `}`
			res := f.api.do("POST", "/projects/"+f.projectID+"/time-entries", body)
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantStatus != 201 {
				expectError(t, res, 400, codeValidation)
				return
			}
			var got entryView
			res.decode(t, &got)
			if got.Minutes != tt.wantMinutes || got.Hours != tt.wantHours || got.Status != "draft" {
				t.Errorf("got minutes %d hours %q status %s, want %d %q draft", got.Minutes, got.Hours, got.Status, tt.wantMinutes, tt.wantHours)
			}
		})
	}
}

func TestCostCents(t *testing.T) {
	tests := []struct {
		meta    string
		minutes int
		want    string // JSON of costCents
		wantErr bool
	}{
		{`{"rateCents":9000}`, 90, "13500", false},
		{`{"rateCents":30}`, 1, "1", false}, // 0.5 rounds half up
		{`{"rateCents":29}`, 1, "0", false}, // 0.483
		{`{"rateCents":50}`, 1, "1", false}, // 0.833
		{`{"rateCents":12.5}`, 60, "13", false},
		{`{"rateCents":0}`, 60, "0", false},
		{`{"other":1}`, 60, "null", false},
		{`{"rateCents":null}`, 60, "null", false},
		{``, 60, "null", false},
		{`"just a string"`, 60, "null", false},
		{`{"rateCents":"9000"}`, 60, "", true},
		{`{"rateCents":-1}`, 60, "", true},
	}
	for _, tt := range tests {
		got, err := costCents(json.RawMessage(tt.meta), tt.minutes)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%s: no error", tt.meta)
			}
			continue
		}
		b, _ := json.Marshal(got)
		if err != nil || string(b) != tt.want {
			t.Errorf("costCents(%s, %d) = %s, %v; want %s", tt.meta, tt.minutes, b, err, tt.want)
		}
	}
}

func TestCostCentsOverHTTP(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	body := f.entryBody("cost-1", 90)
	body["externalMetadata"] = map[string]any{"rateCents": 9000, "note": []int{1, 2}}
	var got entryView
	f.api.must(201, "POST", "/integration/time-entries", body, &got)
	if got.CostCents == nil || *got.CostCents != 13500 {
		t.Fatalf("costCents = %v, want 13500", got.CostCents)
	}
	if string(got.ExternalMetadata) != `{"note":[1,2],"rateCents":9000}` {
		t.Errorf("externalMetadata = %s, not stored as sent", got.ExternalMetadata)
	}
	f.api.must(200, "PATCH", "/time-entries/"+got.ID, map[string]any{"minutes": 30}, &got)
	if got.CostCents == nil || *got.CostCents != 4500 || got.Hours != "0.5" {
		t.Errorf("after edit: costCents %v hours %s, want 4500 and 0.5", got.CostCents, got.Hours)
	}
	plain := f.entry("cost-2", 60)
	if plain.CostCents != nil {
		t.Errorf("costCents without a rate = %d, want null", *plain.CostCents)
	}
}
