package emulators

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrMissingTool is wrapped by the errors Start returns when a program the
// emulators need is not installed; the message says how to install it.
var ErrMissingTool = errors.New("emulators: a required tool is missing")

// Install hints, quoted in the errors for missing tools.
const (
	hintGcloud = "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install, " +
		"or the Debian package google-cloud-cli)"
	hintComponents = "install the emulators with `gcloud components install " +
		"cloud-firestore-emulator pubsub-emulator`, or with the Debian packages " +
		"google-cloud-cli-firestore-emulator and google-cloud-cli-pubsub-emulator " +
		"when the CLI came from apt"
	hintJava = "install a Java runtime, 17 or later " +
		"(Debian: `apt-get install openjdk-17-jre-headless`)"
	hintClang = "install clang, which the BigQuery emulator's cgo code needs " +
		"(Debian: `apt-get install clang`); GCC does not build it"
	hintGo = "install Go 1.26 or later and put `go` on PATH"
)

// missing builds an ErrMissingTool error.
func missing(what, hint string) error {
	return fmt.Errorf("%w: %s not found: %s", ErrMissingTool, what, hint)
}

// checkGcloud finds gcloud, the emulator components the services need, and
// java. Where the SDK root cannot be worked out from gcloud's path, the
// component check is left to gcloud, whose error is then quoted.
func checkGcloud(services Service) (string, error) {
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return "", missing("gcloud", hintGcloud)
	}
	if root := sdkRoot(gcloud); root != "" {
		var absent []string
		platform := filepath.Join(root, "platform")
		if services&Firestore != 0 && !isDir(filepath.Join(platform, "cloud-firestore-emulator")) {
			absent = append(absent, "cloud-firestore-emulator")
		}
		if services&PubSub != 0 && !isDir(filepath.Join(platform, "pubsub-emulator")) {
			absent = append(absent, "pubsub-emulator")
		}
		if len(absent) > 0 {
			what := "gcloud component " + strings.Join(absent, ", ") + " (under " + root + ")"
			return "", missing(what, hintComponents)
		}
	}
	if _, err := findJava(); err != nil {
		return "", err
	}
	return gcloud, nil
}

// sdkRoot returns the Cloud SDK's root folder for the gcloud at path, or ""
// when it does not look like one.
func sdkRoot(path string) string {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return ""
	}
	root := filepath.Dir(filepath.Dir(real))
	if !isDir(filepath.Join(root, "platform")) {
		return ""
	}
	return root
}

// findJava looks for java in JAVA_HOME, then on PATH.
func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", missing("java", hintJava)
	}
	return p, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
