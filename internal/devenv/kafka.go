package devenv

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Topics every Kafka started here holds from the start.
const (
	CDCTopic = "illumera.cdc"
	DLQTopic = "illumera.cdc.dlq"
)

// Kafka is an embedded broker listening on loopback.
type Kafka struct {
	Brokers []string
	Cluster *kfake.Cluster
}

// StartKafka starts a one-broker cluster with the CDC topic (partitions
// partitions) and its dead-letter topic. dataDir, when not empty, persists the
// log so a restarted cluster keeps its records.
func StartKafka(partitions int32, dataDir string) (*Kafka, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(partitions, CDCTopic),
		kfake.SeedTopics(1, DLQTopic),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(int(partitions)),
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded Kafka: %w", err)
	}
	return &Kafka{Brokers: c.ListenAddrs(), Cluster: c}, nil
}

// Close stops the broker.
func (k *Kafka) Close() { k.Cluster.Close() }
