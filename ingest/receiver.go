package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/illumera/alignsync/connect/credentials"
)

// MaxBodyBytes bounds a delivery's body.
const MaxBodyBytes = 1 << 20

// Route is the receiver's path; connectionID is the mux variable it reads.
const Route = "/webhooks/align/{connectionID}"

// Connections resolves the connection a delivery is addressed to
// (*credentials.Store). An unknown or disconnected one must give an error
// wrapping credentials.ErrNotConnected.
type Connections interface {
	WebhookTarget(ctx context.Context, connectionID string) (credentials.Webhook, error)
}

var _ Connections = (*credentials.Store)(nil)

// Config assembles a Receiver.
type Config struct {
	Pool        *pgxpool.Pool
	Connections Connections
	Metrics     *Metrics // nil: not counted
	Logger      *slog.Logger
}

// Receiver is the webhook receiver and the re-processing of failed
// deliveries. It is stateless; several instances may run against one
// database.
type Receiver struct {
	pool    *pgxpool.Pool
	targets *targets
	metrics *Metrics
	log     *slog.Logger
}

// NewReceiver checks cfg and returns a Receiver.
func NewReceiver(cfg Config) (*Receiver, error) {
	if cfg.Pool == nil || cfg.Connections == nil {
		return nil, errors.New("ingest: Pool and Connections are required")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{pool: cfg.Pool, targets: newTargets(cfg.Connections), metrics: cfg.Metrics, log: logger}, nil
}

// Register adds the receiver's route to r.
func (rc *Receiver) Register(r *mux.Router) {
	r.Handle(Route, rc).Methods(http.MethodPost)
}

// answer is the reply to one webhook request.
type answer struct {
	code    int
	result  string
	message string // for refusals; never echoes the request
}

// ServeHTTP receives one delivery.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a := rc.receive(w, r)
	rc.metrics.request(a.result, time.Since(start))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.code)
	if a.code < 300 {
		fmt.Fprintf(w, `{"status":%q}`+"\n", a.result)
		return
	}
	body, _ := json.Marshal(map[string]map[string]string{"error": {"code": a.result, "message": a.message}})
	w.Write(append(body, '\n')) //nolint:errcheck // the client went away
}

func (rc *Receiver) receive(w http.ResponseWriter, r *http.Request) answer {
	ctx := r.Context()
	tg, err := rc.targets.get(ctx, mux.Vars(r)["connectionID"])
	if errors.Is(err, credentials.ErrNotConnected) {
		return notFound
	}
	if err != nil {
		rc.log.Error("resolving webhook connection failed", slog.Any("error", err))
		return answer{http.StatusInternalServerError, resultError, "internal error"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return answer{http.StatusRequestEntityTooLarge, resultInvalid, "body larger than 1 MiB"}
		}
		return answer{http.StatusBadRequest, resultInvalid, "unreadable body"}
	}
	if err := tg.verifier.Verify(body, r.Header); err != nil {
		return answer{http.StatusUnauthorized, resultUnauthorized, "signature verification failed"}
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.ID == "" || env.EventName == "" {
		return answer{http.StatusBadRequest, resultInvalid, "malformed delivery: want a JSON object with id and eventName"}
	}
	if env.ID != r.Header.Get(standardwebhooks.HeaderWebhookID) {
		return answer{http.StatusBadRequest, resultInvalid, "delivery id does not match the webhook-id header"}
	}
	if !sameUUID(env.OrganizationID, tg.OrganizationID) {
		return answer{http.StatusForbidden, resultForbidden, "organizationId is not this connection's organization"}
	}
	return rc.record(ctx, tg, env, body)
}

func sameUUID(a, b string) bool {
	ua, err1 := uuid.Parse(a)
	ub, err2 := uuid.Parse(b)
	return err1 == nil && err2 == nil && ua == ub
}

// notFound answers a delivery to an unknown, disconnected or replaced connection.
var notFound = answer{http.StatusNotFound, resultNotFound, "unknown connection"}

// errUnusableSecret is a stored webhook secret the signature library refuses.
var errUnusableSecret = errors.New("webhook secret is not whsec_ + base64")

// record processes and records a verified delivery.
func (rc *Receiver) record(ctx context.Context, tg target, env envelope, body []byte) answer {
	d := delivery{
		id: env.ID, companyID: tg.CompanyID, connectionID: tg.ConnectionID,
		eventName: env.EventName, occurredAt: env.OccurredAt, payload: body,
	}
	o, res, err := recordDelivery(ctx, rc.pool, d, env.Data)
	switch {
	case isDataException(err):
		// The body is JSON that PostgreSQL refuses to store (a \u0000 escape, say).
		return answer{http.StatusBadRequest, resultInvalid, "delivery cannot be stored"}
	case err != nil:
		rc.log.Error("recording webhook delivery failed", slog.String("connection_id", tg.ConnectionID),
			slog.String("delivery_id", truncate(env.ID, 100)), slog.Any("error", err))
		return answer{http.StatusInternalServerError, resultError, "internal error"}
	case res == connectionGone:
		rc.targets.forget(tg.ConnectionID)
		return notFound
	case res == duplicate:
		return answer{http.StatusOK, resultDuplicate, ""}
	}
	rc.metrics.outcome(o)
	if o.status == DeliveryFailed {
		return answer{http.StatusOK, resultFailed, ""}
	}
	return answer{http.StatusOK, resultProcessed, ""}
}
