package bench_test

import (
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/bench"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

func TestMain(m *testing.M) {
	bench.RunProviderIfAsked()
	bench.RunChildIfAsked()
	storetest.Main(m)
}
