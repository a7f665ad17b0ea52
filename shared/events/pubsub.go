package events

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is a Pub/Sub message as a messagePublished event delivers it.
type Message struct {
	// Data is the message's payload, decoded from base64; nil when the
	// message has none.
	Data []byte
	// Attributes are the message's attributes; nil when it has none.
	Attributes map[string]string
	// ID is the message id Pub/Sub assigned; redeliveries repeat it.
	ID string
	// PublishTime is when Pub/Sub received the message, in UTC.
	PublishTime time.Time
	// OrderingKey is the message's ordering key, usually empty.
	OrderingKey string
	// Subscription is "projects/P/subscriptions/S", or empty when the
	// delivery did not name it.
	Subscription string
}

// messagePublished is the data of a messagePublished event. Pub/Sub push
// writes some fields twice, in camelCase and in snake_case.
type messagePublished struct {
	Subscription string         `json:"subscription"`
	Message      *pubsubMessage `json:"message"`
}

type pubsubMessage struct {
	Data             string            `json:"data"`
	Attributes       map[string]string `json:"attributes"`
	MessageID        string            `json:"messageId"`
	MessageIDSnake   string            `json:"message_id"`
	PublishTime      string            `json:"publishTime"`
	PublishTimeSnake string            `json:"publish_time"`
	OrderingKey      string            `json:"orderingKey"`
	OrderingKeySnake string            `json:"ordering_key"`
}

// DecodeMessagePublished decodes the data of a
// google.cloud.pubsub.topic.v1.messagePublished event:
// {"subscription": ..., "message": {"data": <base64>, ...}}. It accepts
// messageId, publishTime and orderingKey in camelCase or snake_case, and
// refuses a payload whose two spellings of one field disagree.
func DecodeMessagePublished(data []byte) (Message, error) {
	var mp messagePublished
	if err := json.Unmarshal(data, &mp); err != nil {
		return Message{}, fmt.Errorf("events: decode pubsub event: %w", err)
	}
	m := mp.Message
	if m == nil {
		return Message{}, errors.New("events: pubsub event has no message")
	}

	id, err := oneOf("messageId", m.MessageID, m.MessageIDSnake)
	if err != nil {
		return Message{}, err
	}
	key, err := oneOf("orderingKey", m.OrderingKey, m.OrderingKeySnake)
	if err != nil {
		return Message{}, err
	}
	ts, err := oneOf("publishTime", m.PublishTime, m.PublishTimeSnake)
	if err != nil {
		return Message{}, err
	}

	out := Message{
		Attributes:   m.Attributes,
		ID:           id,
		OrderingKey:  key,
		Subscription: mp.Subscription,
	}
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return Message{}, fmt.Errorf("events: pubsub publishTime: %w", err)
		}
		out.PublishTime = t.UTC()
	}
	if m.Data != "" {
		out.Data, err = base64.StdEncoding.DecodeString(m.Data)
		if err != nil {
			return Message{}, fmt.Errorf("events: pubsub message %s data is not base64: %w", id, err)
		}
	}
	return out, nil
}

// oneOf returns whichever of a field's two spellings is set, or an error
// when both are set and differ.
func oneOf(field, camel, snake string) (string, error) {
	switch {
	case camel == "":
		return snake, nil
	case snake == "" || snake == camel:
		return camel, nil
	}
	return "", fmt.Errorf("events: pubsub message has two %s values, %q and %q",
		field, camel, snake)
}
