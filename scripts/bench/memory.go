package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's resident memory, from /proc/PID/status.
type Memory struct {
	// RSS is VmRSS, the resident set now; HWM is VmHWM, its peak. Both in
	// bytes.
	RSS int64 `json:"vm_rss"`
	HWM int64 `json:"vm_hwm"`
}

// readMemory reads VmRSS and VmHWM of process pid.
func readMemory(pid int) (Memory, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	f, err := os.Open(path)
	if err != nil {
		return Memory{}, fmt.Errorf("reading memory: %w", err)
	}
	defer f.Close()
	return parseStatus(bufio.NewScanner(f), path)
}

// parseStatus reads VmRSS and VmHWM from the lines of a status file.
func parseStatus(sc *bufio.Scanner, name string) (Memory, error) {
	var m Memory
	var found int
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != "VmRSS" && key != "VmHWM" {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("reading memory: %s: %s is %q", name, key, value)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("reading memory: %s: %s: %w", name, key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("reading memory: %s: %w", name, err)
	}
	if found != 2 {
		return Memory{}, fmt.Errorf("reading memory: %s has no VmRSS or VmHWM", name)
	}
	return m, nil
}
