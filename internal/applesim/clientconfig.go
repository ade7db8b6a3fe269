package applesim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"
)

// MDMInfo is the claim an MDM writes to a location's client config.
type MDMInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Metadata string `json:"metadata"`
}

// ClientConfig is a location's client configuration, as the ClientConfig hook reports it.
type ClientConfig struct {
	MDMInfo               *MDMInfo
	NotificationURL       string
	NotificationAuthToken string
	NotificationTypes     []string
}

// notificationTypes are the values a client may subscribe to.
var notificationTypes = []string{
	"TEST_NOTIFICATION", "ASSET_MANAGEMENT", "USER_MANAGEMENT", "USER_ASSOCIATED", "ASSET_COUNT",
	"SUBSCRIPTION_MANAGEMENT", "SUBSCRIPTION_COUNT", "UNLIMITED_ASSET",
}

type clientConfigRequest struct {
	MDMInfo               *mdmInfoRequest `json:"mdmInfo"`
	NotificationURL       *string         `json:"notificationUrl"`
	NotificationAuthToken *string         `json:"notificationAuthToken"`
	NotificationTypes     *[]string       `json:"notificationTypes"`
}

// mdmInfoRequest uses pointers to tell a missing field from an empty one.
type mdmInfoRequest struct {
	ID       *string `json:"id"`
	Name     *string `json:"name"`
	Metadata *string `json:"metadata"`
}

type clientConfigResponse struct {
	CountryISO2ACode            string   `json:"countryISO2ACode"`
	DefaultPlatform             string   `json:"defaultPlatform"`
	LocationName                string   `json:"locationName"`
	NotificationAuthToken       string   `json:"notificationAuthToken,omitempty"`
	NotificationURL             string   `json:"notificationUrl,omitempty"`
	SubscribedNotificationTypes []string `json:"subscribedNotificationTypes"`
	WebsiteURL                  string   `json:"websiteURL"`
	envelope
}

// configLocked returns the client config a token sees (Quirks.ClientConfigPerToken).
func (s *Server) configLocked(tok *token, loc *location) *clientConfig {
	if !s.opts.Quirks.ClientConfigPerToken {
		return &loc.Config
	}
	if tok.Config == nil {
		tok.Config = &clientConfig{}
	}
	return tok.Config
}

func (s *Server) clientConfigResponseLocked(tok *token, loc *location) clientConfigResponse {
	cfg := s.configLocked(tok, loc)
	types := slices.Clone(cfg.NotificationTypes)
	if types == nil {
		types = []string{}
	}
	return clientConfigResponse{
		CountryISO2ACode:            loc.CountryCode,
		DefaultPlatform:             loc.platform(),
		LocationName:                loc.Name,
		NotificationAuthToken:       cfg.NotificationAuthToken,
		NotificationURL:             cfg.NotificationURL,
		SubscribedNotificationTypes: types,
		WebsiteURL:                  loc.websiteURL(),
		envelope:                    s.envelopeLocked(tok, loc),
	}
}

// getClientConfig serves GET /client/config.
func (s *Server) getClientConfig(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, loc, aerr := s.sessionLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	return s.clientConfigResponseLocked(tok, loc), nil
}

// postClientConfig serves POST /client/config: validate, deliver a TEST_NOTIFICATION if a
// notification URL is being set (outside the lock: it is a network call), then store.
func (s *Server) postClientConfig(c *call) (any, *apiError) {
	var req clientConfigRequest
	if aerr := decodeBody(c.body, &req); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	maxLen := map[string]int{}
	for _, k := range []string{LimitMaxMDMIDLength, LimitMaxMDMNameLength, LimitMaxMDMMetadataLength, LimitMaxNotificationLength} {
		maxLen[k] = s.limitLocked(k)
	}
	_, loc, aerr := s.sessionLocked(c)
	uid := ""
	if loc != nil {
		uid = loc.UID
	}
	s.mu.Unlock()
	if aerr != nil {
		return nil, aerr
	}
	if aerr := validateClientConfig(&req, maxLen, s.opts.Quirks.ClientConfigReplace); aerr != nil {
		return nil, aerr
	}
	if req.NotificationURL != nil && *req.NotificationURL != "" {
		if !s.sendTestNotification(c.r.Context(), uid, *req.NotificationURL, *req.NotificationAuthToken) {
			return nil, errorFor(9728)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	tok, loc, aerr := s.sessionLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	cfg := s.configLocked(tok, loc)
	if s.opts.Quirks.ClientConfigReplace {
		*cfg = clientConfig{}
	}
	if m := req.MDMInfo; m != nil {
		cfg.MDMInfo = &MDMInfo{ID: *m.ID, Name: *m.Name, Metadata: *m.Metadata}
	}
	if req.NotificationURL != nil {
		cfg.NotificationURL = *req.NotificationURL
		cfg.NotificationAuthToken = *req.NotificationAuthToken
	}
	if req.NotificationTypes != nil {
		// TEST_NOTIFICATION may be requested but is never listed as subscribed.
		cfg.NotificationTypes = slices.DeleteFunc(slices.Clone(*req.NotificationTypes),
			func(t string) bool { return t == "TEST_NOTIFICATION" })
	}
	loc.ConfigToken = tok.Secret
	return s.clientConfigResponseLocked(tok, loc), nil
}

// validateClientConfig checks a POST body in the order of Apple's error table. In replace mode
// an omitted notification URL and token both mean "clear".
func validateClientConfig(req *clientConfigRequest, maxLen map[string]int, replace bool) *apiError {
	if m := req.MDMInfo; m != nil {
		if m.ID == nil || m.Name == nil || m.Metadata == nil || *m.ID == "" || *m.Name == "" {
			return errorFor(9723)
		}
		switch {
		case utf8.RuneCountInString(*m.ID) > maxLen[LimitMaxMDMIDLength]:
			return errorFor(9724)
		case utf8.RuneCountInString(*m.Name) > maxLen[LimitMaxMDMNameLength]:
			return errorFor(9725)
		case utf8.RuneCountInString(*m.Metadata) > maxLen[LimitMaxMDMMetadataLength]:
			return errorFor(9713)
		}
	}
	if replace {
		empty := ""
		if req.NotificationURL == nil && req.NotificationAuthToken == nil {
			req.NotificationURL, req.NotificationAuthToken = &empty, &empty
		}
	}
	u, t := req.NotificationURL, req.NotificationAuthToken
	if (u == nil) != (t == nil) || (u != nil && (*u == "") != (*t == "")) {
		return errorFor(9710)
	}
	if u != nil {
		limit := maxLen[LimitMaxNotificationLength]
		if utf8.RuneCountInString(*u) > limit || utf8.RuneCountInString(*t) > limit {
			return errorFor(9711)
		}
		if *u != "" && !validNotificationURL(*u) {
			return errorFor(9712)
		}
	}
	if req.NotificationTypes != nil {
		for _, nt := range *req.NotificationTypes {
			if !slices.Contains(notificationTypes, nt) {
				return errorFor(9602)
			}
		}
	}
	return nil
}

// validNotificationURL accepts an absolute HTTPS URL that has only a host and a path.
func validNotificationURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil &&
		u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery
}

type notificationEnvelope struct {
	Notification     struct{} `json:"notification"`
	NotificationID   string   `json:"notificationId"`
	NotificationType string   `json:"notificationType"`
	UID              string   `json:"uId"`
}

// sendTestNotification POSTs a TEST_NOTIFICATION; any 2xx answer counts as delivered.
func (s *Server) sendTestNotification(ctx context.Context, uid, target, secret string) bool {
	body, _ := json.Marshal(notificationEnvelope{
		NotificationID:   newEventID(),
		NotificationType: "TEST_NOTIFICATION",
		UID:              uid,
	})
	ctx, cancel := context.WithTimeout(ctx, s.opts.NotificationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := s.opts.NotificationClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
