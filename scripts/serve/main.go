// Command serve runs the product's functions locally on the functions
// framework, as the Go buildpack's generated main does in production: the
// function named by FUNCTION_TARGET (RunConversion or MergeConversion) is
// served at / on 127.0.0.1:$PORT, and a Pub/Sub push body posted there
// reaches it as a messagePublished CloudEvent. Without FUNCTION_TARGET,
// each function is served at /<EntryPoint>.
//
// The functions read their settings from the environment (see
// shared/config); the local stack sets them.
package main

import (
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "customconversions.dev/functions/mergeconversion"
	_ "customconversions.dev/functions/runconversion"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
}
