package main

import "testing"

func TestQuietLogsUnlessAsked(t *testing.T) {
	quiet := quietLogsUnlessAsked([]string{"HOME=/root", "PATH=/usr/bin", "TF_LOG="})
	for _, name := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_VPP"} {
		if quiet[name] != "OFF" {
			t.Errorf("with no TF_LOG* variable set, %s = %q, want OFF", name, quiet[name])
		}
	}
	for _, asked := range []string{"TF_LOG=TRACE", "TF_LOG_PROVIDER=DEBUG", "TF_LOG_SDK_FRAMEWORK=TRACE", "TF_LOG_PROVIDER_VPP=INFO", "TF_LOG=JSON"} {
		if got := quietLogsUnlessAsked([]string{"HOME=/root", asked}); len(got) != 0 {
			t.Errorf("with %s set, the provider changed log levels: %v", asked, got)
		}
	}
}
