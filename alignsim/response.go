package alignsim

import (
	"encoding/json"
	"errors"
	"net/http"
)

// reply is what a handler answers; render turns it into bytes.
type reply struct {
	status int
	body   any // nil means no body (204)
}

func replyOK(body any) reply      { return reply{status: http.StatusOK, body: body} }
func replyCreated(body any) reply { return reply{status: http.StatusCreated, body: body} }
func replyNoContent() reply       { return reply{status: http.StatusNoContent} }

// response is a fully rendered answer. It is built under the server's lock
// and written after the lock is released; the idempotency cache keeps it.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) render() response {
	if r.body == nil {
		return response{status: r.status, header: http.Header{}}
	}
	b, err := json.Marshal(r.body)
	if err != nil {
		return errorResponse(newError(http.StatusInternalServerError, codeInternal, "encoding response: %v", err))
	}
	h := http.Header{"Content-Type": {"application/json"}}
	return response{status: r.status, header: h, body: b}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Reason  *string `json:"reason"`
}

// errorResponse renders err; anything that is not an *apiError is a bug in
// the simulator and answers 500 internal.
func errorResponse(err error) response {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = newError(http.StatusInternalServerError, codeInternal, "%v", err)
	}
	resp := reply{status: ae.status, body: errorBody{errorDetail{ae.code, ae.message, ae.reason}}}.render()
	for k, v := range ae.header {
		resp.header.Set(k, v)
	}
	return resp
}

func (r response) clone() response {
	r.header = r.header.Clone()
	return r
}

func (r response) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body) // the client has gone if this fails; nothing to do
}
