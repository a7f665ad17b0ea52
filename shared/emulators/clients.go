package emulators

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// NewBigQueryClient returns a BigQuery client for the emulator at host
// (host:port). It never looks for credentials. The emulator can crash a
// request handler and leave the client retrying: give every call a
// context with a deadline.
func NewBigQueryClient(ctx context.Context, host, project string) (*bigquery.Client, error) {
	c, err := bigquery.NewClient(ctx, project,
		option.WithEndpoint("http://"+host),
		option.WithoutAuthentication(),
	)
	if err != nil {
		return nil, fmt.Errorf("emulators: bigquery client for %s: %w", host, err)
	}
	return c, nil
}

// NewFirestoreClient returns a Firestore client for the emulator at host,
// acting as the emulator's administrator (security rules do not apply),
// as the client library does under FIRESTORE_EMULATOR_HOST.
func NewFirestoreClient(ctx context.Context, host, project string) (*firestore.Client, error) {
	conn, err := grpc.NewClient("passthrough:///"+host,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(ownerCreds{}),
	)
	if err != nil {
		return nil, fmt.Errorf("emulators: firestore connection to %s: %w", host, err)
	}
	c, err := firestore.NewClient(ctx, project, option.WithGRPCConn(conn))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("emulators: firestore client for %s: %w", host, err)
	}
	return c, nil
}

// ownerCreds sends the token the Firestore emulator takes as its owner.
type ownerCreds struct{}

func (ownerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

func (ownerCreds) RequireTransportSecurity() bool { return false }

// NewPubSubClient returns a Pub/Sub client for the emulator at host. It
// never looks for credentials.
func NewPubSubClient(ctx context.Context, host, project string) (*pubsub.Client, error) {
	c, err := pubsub.NewClient(ctx, project,
		option.WithEndpoint(host),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		option.WithTelemetryDisabled(),
	)
	if err != nil {
		return nil, fmt.Errorf("emulators: pubsub client for %s: %w", host, err)
	}
	return c, nil
}

// BigQuery returns a BigQuery client for the stack's emulator and project.
func (s *Stack) BigQuery(ctx context.Context) (*bigquery.Client, error) {
	if s.bigqueryHost == "" {
		return nil, errors.New("emulators: the BigQuery emulator was not started")
	}
	return NewBigQueryClient(ctx, s.bigqueryHost, s.project)
}

// Firestore returns a Firestore client for the stack's emulator. Project
// may be any id (the emulator keeps each project apart); "" means the
// stack's project.
func (s *Stack) Firestore(ctx context.Context, project string) (*firestore.Client, error) {
	if s.firestoreHost == "" {
		return nil, errors.New("emulators: the Firestore emulator was not started")
	}
	return NewFirestoreClient(ctx, s.firestoreHost, or(project, s.project))
}

// PubSub returns a Pub/Sub client for the stack's emulator. Project may be
// any id (the emulator keeps each project apart); "" means the stack's
// project.
func (s *Stack) PubSub(ctx context.Context, project string) (*pubsub.Client, error) {
	if s.pubsubHost == "" {
		return nil, errors.New("emulators: the Pub/Sub emulator was not started")
	}
	return NewPubSubClient(ctx, s.pubsubHost, or(project, s.project))
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
