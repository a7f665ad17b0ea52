// Command floor is the floor the benchmark measures the product's
// functions against: a bare functions-framework CloudEvent function that
// answers every event with nil, served on 127.0.0.1:$PORT the way
// scripts/serve serves the product's functions. The benchmark command
// builds and starts it itself; it is never deployed.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"
)

// EntryPoint is the name the floor function is registered under; the
// benchmark sets FUNCTION_TARGET to it.
const EntryPoint = "Floor"

func init() {
	functions.CloudEvent(EntryPoint, func(context.Context, event.Event) error { return nil })
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(1)
	}
}
