package alignsim

import (
	"testing"
)

// TestLifecycle drives an entry through every status with the manager
// actions of the control API and the integration's PATCH.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	en := f.entry("life", 60)
	act := map[string]func(id string) (TimeEntry, error){
		"approve": func(id string) (TimeEntry, error) { return e.ctl.Approve(e.ctx, id) },
		"reject":  func(id string) (TimeEntry, error) { return e.ctl.Reject(e.ctx, id, "Wrong project code") },
		"lock":    func(id string) (TimeEntry, error) { return e.ctl.Lock(e.ctx, id) },
		"invoice": func(id string) (TimeEntry, error) { return e.ctl.Invoice(e.ctx, id) },
	}
	steps := []struct {
		action     string // "submit" is the integration's PATCH
		wantStatus string // "" means 409
	}{
		{"approve", ""},
		{"lock", ""},
		{"submit", "submitted"},
		{"submit", ""},
		{"reject", "rejected"},
		{"approve", ""},
		{"submit", "submitted"},
		{"approve", "approved"},
		{"reject", ""},
		{"submit", ""},
		{"invoice", ""},
		{"lock", "locked"},
		{"approve", ""},
		{"invoice", "invoiced"},
		{"lock", ""},
		{"submit", ""},
	}
	for i, st := range steps {
		var got string
		var code string
		if st.action == "submit" {
			res := f.api.do("PATCH", "/time-entries/"+en.ID, `{"status":"submitted"}`)
			if res.status == 200 {
				var v entryView
				res.decode(t, &v)
				got = v.Status
			} else {
				code = res.errorCode(t)
			}
		} else {
			v, err := act[st.action](en.ID)
			got = v.Status
			if ce, ok := err.(*ControlError); ok {
				code = ce.Code
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if st.wantStatus == "" && code != codeInvalidTransition {
			t.Fatalf("step %d %s: got %q %q, want 409 invalid_transition", i, st.action, got, code)
		}
		if st.wantStatus != "" && got != st.wantStatus {
			t.Fatalf("step %d %s: got %q (%s), want %s", i, st.action, got, code, st.wantStatus)
		}
	}
}

func TestRejectionReason(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	en := f.entry("r", 60)
	f.submit(en.ID)
	rejected, err := e.ctl.Reject(e.ctx, en.ID, "Wrong project code")
	if err != nil {
		t.Fatal(err)
	}
	if rejected.RejectionReason == nil || *rejected.RejectionReason != "Wrong project code" {
		t.Fatalf("rejectionReason %v", rejected.RejectionReason)
	}
	var edited entryView
	f.api.must(200, "PATCH", "/time-entries/"+en.ID, `{"minutes":30,"description":"fixed"}`, &edited)
	if edited.Status != "rejected" || edited.RejectionReason == nil {
		t.Errorf("an edit alone changed status %s / reason %v", edited.Status, edited.RejectionReason)
	}
	var resubmitted entryView
	f.api.must(200, "PATCH", "/time-entries/"+en.ID, `{"minutes":45,"status":"submitted"}`, &resubmitted)
	if resubmitted.Status != "submitted" || resubmitted.RejectionReason != nil || resubmitted.Minutes != 45 {
		t.Errorf("resubmit: %+v", resubmitted)
	}
	if _, err := e.ctl.Reject(e.ctx, en.ID, ""); err == nil {
		t.Error("reject without a reason succeeded")
	}
}

func TestPatchRules(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	submitted := f.entry("p1", 60)
	f.submit(submitted.ID)
	draft := f.entry("p2", 60)
	tests := []struct {
		name       string
		id         string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"edit a draft", draft.ID, `{"workDate":"2026-11-21","billable":false,"description":null}`, 200, ""},
		{"hours ignored", draft.ID, `{"hours":"9"}`, 200, ""},
		{"edit a submitted entry", submitted.ID, `{"description":"late"}`, 409, codeInvalidTransition},
		{"edit and submit a submitted entry", submitted.ID, `{"minutes":30,"status":"submitted"}`, 409, codeInvalidTransition},
		{"approve through the API", draft.ID, `{"status":"approved"}`, 409, codeInvalidTransition},
		{"back to draft", draft.ID, `{"status":"draft"}`, 409, codeInvalidTransition},
		{"unknown status", draft.ID, `{"status":"done"}`, 400, codeValidation},
		{"bad workDate", draft.ID, `{"workDate":"20-11-2026"}`, 400, codeValidation},
		{"minutes too large", draft.ID, `{"minutes":1441}`, 400, codeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.api.do("PATCH", "/time-entries/"+tt.id, tt.body)
			if tt.wantCode != "" {
				expectError(t, res, tt.wantStatus, tt.wantCode)
				return
			}
			if res.status != tt.wantStatus {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
		})
	}
	var got entryView
	f.api.must(200, "GET", "/time-entries/"+draft.ID, nil, &got)
	if got.WorkDate != "2026-11-21" || got.Billable || got.Description != nil || got.Minutes != 60 || got.Status != "draft" {
		t.Errorf("draft after edits: %+v", got)
	}
}

func TestFeatureDisabled(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(false)
	const absent = "6f1c1f1e-0000-4000-8000-000000000000"
	writes := []struct{ method, path, body string }{
		{"POST", "/integration/time-entries", `{}`},
		{"POST", "/projects/" + f.projectID + "/time-entries", `{"userId":"` + f.userID + `","workDate":"2026-11-20","minutes":30}`},
		{"PATCH", "/time-entries/" + absent, `{}`}, // 404 first: no entry can exist without the feature
	}
	for i, w := range writes {
		res := f.api.do(w.method, w.path, w.body)
		if i == 2 {
			expectError(t, res, 404, codeNotFound)
			continue
		}
		expectError(t, res, 402, codeFeatureDisabled)
		var body errorReply
		res.decode(t, &body)
		if body.Error.Reason == nil || *body.Error.Reason != "feature_disabled" {
			t.Errorf("%s %s: reason %v, want feature_disabled", w.method, w.path, body.Error.Reason)
		}
	}
	f.api.must(200, "GET", "/projects/"+f.projectID+"/time-entries", nil, nil) // reads are not writes
}

// An organization cannot lose the feature through the control API, so the
// test turns it off behind the simulator's back to reach PATCH's 402.
func TestFeatureDisabledOnPatch(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	en := f.entry("tt", 30)
	e.sim.mu.Lock()
	e.sim.st.orgs[f.org.OrganizationID].timeTracking = false
	e.sim.mu.Unlock()
	expectError(t, f.api.do("PATCH", "/time-entries/"+en.ID, `{"minutes":"bad"}`), 402, codeFeatureDisabled)
}

func TestMembershipRequiredForEntries(t *testing.T) {
	e := newEnv(t)
	f := e.fixture(true)
	other := f.createProject("Other")
	body := f.entryBody("m", 30)
	body["projectId"] = other
	res := f.api.do("POST", "/integration/time-entries", body)
	expectError(t, res, 400, codeValidation)
	res = f.api.do("POST", "/projects/"+other+"/time-entries", map[string]any{"userId": f.userID, "workDate": "2026-11-20", "minutes": 30})
	expectError(t, res, 400, codeValidation)
}
