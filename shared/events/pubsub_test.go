package events

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

func TestDecodeMessagePublished(t *testing.T) {
	published := ts("2021-02-05T04:06:14.109Z")
	tests := []struct {
		name string
		data []byte
		want Message
	}{
		{
			name: "pubsub_MessagePublishedData-text.json",
			data: sample(t, "pubsub_MessagePublishedData-text.json"),
			want: Message{
				Data:         []byte("test message 3"),
				Attributes:   map[string]string{"attr1": "attr1-value"},
				ID:           "message-id",
				PublishTime:  published,
				Subscription: "projects/my-project/subscriptions/my-subscription",
			},
		},
		{
			name: "pubsub_MessagePublishedData-duplicatedFields.json",
			data: sample(t, "pubsub_MessagePublishedData-duplicatedFields.json"),
			want: Message{
				Data:         []byte{1, 2, 3, 4},
				ID:           "message-id",
				PublishTime:  published,
				Subscription: "projects/my-project/subscriptions/my-subscription",
			},
		},
		{
			name: "snake_case only",
			data: []byte(`{"message": {"data": "aGk=", "message_id": "42",
				"publish_time": "2024-03-02T06:00:00.5+01:00", "ordering_key": "k"}}`),
			want: Message{
				Data:        []byte("hi"),
				ID:          "42",
				PublishTime: ts("2024-03-02T05:00:00.5Z"),
				OrderingKey: "k",
			},
		},
		{
			name: "attributes only",
			data: []byte(`{"message": {"attributes": {"a": "b"}, "messageId": "7"}}`),
			want: Message{Attributes: map[string]string{"a": "b"}, ID: "7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMessagePublished(tt.data)
			if err != nil {
				t.Fatalf("DecodeMessagePublished(%s) error = %v, want nil", tt.name, err)
			}
			checkMessage(t, tt.name, got, tt.want)
		})
	}
}

func TestDecodeMessagePublishedStructured(t *testing.T) {
	const file = "pubsub_messagePublished_structured.json"
	var e cloudevents.Event
	if err := json.Unmarshal(sample(t, file), &e); err != nil {
		t.Fatalf("decode %s as a CloudEvent: %v", file, err)
	}
	if e.Type() != TypeMessagePublished {
		t.Fatalf("%s type = %q, want %q", file, e.Type(), TypeMessagePublished)
	}

	got, err := DecodeMessagePublished(e.Data())
	if err != nil {
		t.Fatalf("DecodeMessagePublished(%s data) error = %v, want nil", file, err)
	}
	checkMessage(t, file, got, Message{
		Data:         []byte("test message 3"),
		Attributes:   map[string]string{"attr1": "attr1-value"},
		ID:           "message-id",
		PublishTime:  ts("2021-02-05T04:06:14.109Z"),
		OrderingKey:  "ordering-key",
		Subscription: "projects/test-project/subscriptions/my-subscription",
	})
}

func TestDecodeMessagePublishedErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"not JSON", `dGVzdA==`},
		{"empty body", ``},
		{"no message", `{"subscription": "projects/p/subscriptions/s"}`},
		{"null message", `{"message": null}`},
		{"message of the wrong type", `{"message": "hello"}`},
		{"data not base64", `{"message": {"data": "not base64!", "messageId": "1"}}`},
		{"data URL-safe base64", `{"message": {"data": "-_8=", "messageId": "1"}}`},
		{"ids disagree", `{"message": {"messageId": "1", "message_id": "2"}}`},
		{"times disagree", `{"message": {"publishTime": "2021-02-05T04:06:14Z",
			"publish_time": "2021-02-05T04:06:15Z"}}`},
		{"bad publish time", `{"message": {"publishTime": "05/02/2021"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMessagePublished([]byte(tt.data))
			if err == nil {
				t.Errorf("DecodeMessagePublished(%s) = %+v, nil; want an error", tt.name, got)
			}
		})
	}
}

// checkMessage reports each field of got that differs from want.
func checkMessage(t *testing.T, name string, got, want Message) {
	t.Helper()
	if !bytes.Equal(got.Data, want.Data) || (got.Data == nil) != (want.Data == nil) {
		t.Errorf("DecodeMessagePublished(%s).Data = %q, want %q", name, got.Data, want.Data)
	}
	if !maps.Equal(got.Attributes, want.Attributes) {
		t.Errorf("DecodeMessagePublished(%s).Attributes = %v, want %v",
			name, got.Attributes, want.Attributes)
	}
	if got.ID != want.ID {
		t.Errorf("DecodeMessagePublished(%s).ID = %q, want %q", name, got.ID, want.ID)
	}
	if !got.PublishTime.Equal(want.PublishTime) ||
		(!got.PublishTime.IsZero() && got.PublishTime.Location() != time.UTC) {
		t.Errorf("DecodeMessagePublished(%s).PublishTime = %v, want %v in UTC",
			name, got.PublishTime, want.PublishTime)
	}
	if got.OrderingKey != want.OrderingKey {
		t.Errorf("DecodeMessagePublished(%s).OrderingKey = %q, want %q",
			name, got.OrderingKey, want.OrderingKey)
	}
	if got.Subscription != want.Subscription {
		t.Errorf("DecodeMessagePublished(%s).Subscription = %q, want %q",
			name, got.Subscription, want.Subscription)
	}
}
