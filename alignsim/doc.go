// Package alignsim is an in-memory simulator of the Align API (§1–§8 of
// docs/align-contract.md, the project's copy of the contract) plus the
// control API of §9 that tests and demos use to create organizations, mint
// keys, act as an Align manager, inject faults and inspect state.
//
// Invariant: the simulator is the other side of a wire. It is written from
// that contract alone and shares no types or validation code with the project's
// Align client (sinks/align), so that a misreading of the contract on either
// side shows up as a failing test instead of a matching mistake. Every rule of
// the contract, including the [assumed] ones, is enforced exactly as written.
//
// Concurrency: all state sits behind one mutex, held for the whole handling of
// a request (simplicity over speed) and never while a webhook is sent over
// HTTP; deliveries run in their own goroutines, which Close stops.
//
// Use it in tests as
//
//	sim := alignsim.New(alignsim.Options{})
//	srv := httptest.NewServer(sim)
//	defer srv.Close()
//	defer sim.Close()
//	ctl := alignsim.NewControl(srv.URL, nil)
//	org, _ := ctl.CreateOrg(ctx, "Acme", true)
//	// the Align API is at srv.URL + alignsim.APIPrefix, org.OrgKey authenticates
package alignsim
