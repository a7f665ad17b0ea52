package main

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// Machine describes the machine a benchmark ran on.
type Machine struct {
	// CPUs is the number of CPUs the process may use, as nproc counts.
	CPUs int `json:"cpus"`
	// CPUModel is the first "model name" of /proc/cpuinfo.
	CPUModel string `json:"cpu_model"`
	// Go is the toolchain that built the benchmark and the functions.
	Go       string `json:"go"`
	Platform string `json:"platform"`
	// LoadAvg is /proc/loadavg's 1, 5 and 15 minute averages at start:
	// figures taken on a loaded machine are slower.
	LoadAvg string `json:"load_avg"`
}

// thisMachine reads the machine's description.
func thisMachine() Machine {
	m := Machine{
		CPUs:     runtime.NumCPU(),
		CPUModel: cpuModel("/proc/cpuinfo"),
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// cpuModel returns the first model name in a cpuinfo file, or "unknown".
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}
