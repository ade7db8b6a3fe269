package applesim

import "maps"

// invitationEmailURL is Apple's invitation template; users accept invitations at Apple, so the
// simulator hands out the real URL.
const invitationEmailURL = "https://buy.itunes.apple.com/WebObjects/MZFinance.woa/wa/associateVPPUserWithITSAccount?inviteCode=%25inviteCode%25&mt=8"

type serviceErrorCode struct {
	ErrorNumber  int    `json:"errorNumber"`
	ErrorMessage string `json:"errorMessage"`
}

type serviceConfigResponse struct {
	ErrorCodes        []serviceErrorCode `json:"errorCodes"`
	Limits            map[string]int     `json:"limits"`
	NotificationTypes []string           `json:"notificationTypes"`
	URLs              map[string]string  `json:"urls"`
}

// getServiceConfig serves GET /service/config. It needs no authentication.
func (s *Server) getServiceConfig(c *call) (any, *apiError) {
	base := s.baseURL(c.r)
	api := base + apiPrefix
	s.mu.Lock()
	limits := maps.Clone(s.limits)
	s.mu.Unlock()
	return serviceConfigResponse{
		ErrorCodes:        errorCodes(),
		Limits:            limits,
		NotificationTypes: []string{"ASSET_MANAGEMENT", "USER_MANAGEMENT", "USER_ASSOCIATED", "ASSET_COUNT"},
		URLs: map[string]string{
			"invitationEmail":       invitationEmailURL,
			"clientConfig":          api + "/client/config",
			"getAssets":             api + "/assets",
			"getAssignments":        api + "/assignments",
			"associateAssets":       api + "/assets/associate",
			"disassociateAssets":    api + "/assets/disassociate",
			"revokeAssets":          api + "/assets/revoke",
			"getUsers":              api + "/users",
			"createUsers":           api + "/users/create",
			"updateUsers":           api + "/users/update",
			"retireUsers":           api + "/users/retire",
			"eventStatus":           api + "/status",
			"contentMetadataLookup": base + lookupPath,
		},
	}, nil
}

// SetLimits changes limits at run time, as Apple may; the next service config shows them.
func (s *Server) SetLimits(limits map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.Copy(s.limits, limits)
}

func (s *Server) limitLocked(name string) int { return s.limits[name] }
