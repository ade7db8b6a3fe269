package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// ChildEnv names the environment variable that makes a test binary of this package run one
// operation (an encoded Op) instead of its tests; see RunChildIfAsked.
const ChildEnv = "VPP_BENCH_CHILD"

// RunChildIfAsked runs the operation ChildEnv names, prints its OpResult as JSON and exits; it
// returns at once when the variable is unset. TestMain calls it first.
func RunChildIfAsked() {
	enc := os.Getenv(ChildEnv)
	if enc == "" {
		return
	}
	engine.TuneGC() // as the provider's main does, so that RSS is the provider's
	op, err := DecodeOp(enc)
	res := OpResult{Error: fmt.Sprint(err)}
	if err == nil {
		res = op.Run(context.Background())
	}
	res.PeakRSSMB = selfPeakRSSMB()

	_ = json.NewEncoder(os.Stdout).Encode(res)
	os.Exit(0)
}

// Sample is one measured run.
type Sample struct {
	Seconds float64
	Counts  Counts
	RSSMB   float64 // peak resident set of the process that ran the operation; 0 when unknown
	Result  OpResult
}

// RunInChild runs op in a new process (the running test binary, re-executed), so that the peak
// RSS the OS reports for it belongs to the operation's engine alone; the simulator stays here.
func RunInChild(ctx context.Context, a *Apple, op Op) (Sample, error) {
	a.ResetCounts()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ChildEnv+"="+op.Encode())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut

	if err := cmd.Run(); err != nil {
		return Sample{}, fmt.Errorf("child process: %v: %s", err, strings.TrimSpace(errOut.String()))
	}
	var res OpResult
	if err := json.Unmarshal(lastLine(out.Bytes()), &res); err != nil {
		return Sample{}, fmt.Errorf("child process printed %q: %v", out.String(), err)
	}
	peak := res.PeakRSSMB
	if peak == 0 {
		peak = childPeakRSSMB(cmd.ProcessState)
	}
	return Sample{Seconds: res.Seconds, Counts: a.Counts(), RSSMB: peak, Result: res}, nil
}

// RunInProcess runs op in this process (no RSS figure).
func RunInProcess(ctx context.Context, a *Apple, op Op) Sample {
	a.ResetCounts()
	res := op.Run(ctx)
	return Sample{Seconds: res.Seconds, Counts: a.Counts(), Result: res}
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}
