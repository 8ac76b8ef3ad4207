package testenv

import "github.com/illumera/alignsync/internal/devenv"

// Topics every Kafka started here holds from the start.
const (
	CDCTopic = devenv.CDCTopic
	DLQTopic = devenv.DLQTopic
)

// Kafka is an embedded broker listening on loopback (devenv.Kafka).
type Kafka = devenv.Kafka

// StartKafka starts a one-broker cluster with the change topics
// (devenv.StartKafka).
func StartKafka(partitions int32, dataDir string) (*Kafka, error) {
	return devenv.StartKafka(partitions, dataDir)
}
