package apple

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Values of ClientConfig.DefaultPlatform, also the lookup's platform parameter.
const (
	PlatformEducation = "volumestore"     // Apple School Manager
	PlatformBusiness  = "enterprisestore" // Apple Business Manager
)

// ServiceConfig is Apple's ServiceConfigResponse. The Client shares one value
// between callers: treat it as read-only.
type ServiceConfig struct {
	ErrorCodes        []ErrorCodeInfo
	Limits            Limits
	NotificationTypes []string
	// URLs maps Apple's names (getAssets, contentMetadataLookup,
	// invitationEmail, ...) to URLs.
	URLs map[string]string
}

// ErrorCodeInfo is one entry of the service config's errorCodes.
type ErrorCodeInfo struct {
	Code    Code
	Message string
}

type serviceConfigWire struct {
	ErrorCodes []struct {
		ErrorNumber  Code   `json:"errorNumber"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"errorCodes"`
	Limits            map[string]json.RawMessage `json:"limits"`
	NotificationTypes []string                   `json:"notificationTypes"`
	URLs              map[string]json.RawMessage `json:"urls"`
}

func decodeServiceConfig(body []byte) (*ServiceConfig, error) {
	var w serviceConfigWire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	sc := &ServiceConfig{
		Limits:            parseLimits(w.Limits),
		NotificationTypes: w.NotificationTypes,
		URLs:              make(map[string]string, len(w.URLs)),
	}
	for _, e := range w.ErrorCodes {
		sc.ErrorCodes = append(sc.ErrorCodes, ErrorCodeInfo{Code: e.ErrorNumber, Message: e.ErrorMessage})
	}
	for name, raw := range w.URLs {
		var s string
		if json.Unmarshal(raw, &s) == nil { // ignore values that are not strings
			sc.URLs[name] = s
		}
	}
	return sc, nil
}

// ServiceConfig returns the service config (GET /service/config, no auth),
// cached for ServiceConfigTTL. A refresh also updates the request rate. When a
// refresh fails after an earlier success, the earlier config is kept for
// another TTL instead of failing the caller.
func (c *Client) ServiceConfig(ctx context.Context) (*ServiceConfig, error) {
	if sc := c.freshServiceConfig(); sc != nil {
		return sc, nil
	}
	select {
	case c.refreshing <- struct{}{}:
		defer func() { <-c.refreshing }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if sc := c.freshServiceConfig(); sc != nil { // refreshed while we waited
		return sc, nil
	}
	sc, err := c.fetchServiceConfig(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.service == nil {
			return nil, err
		}
		c.fetched = c.now()
		return c.service, nil
	}
	c.service, c.fetched = sc, c.now()
	if !c.fixedRate {
		c.pacer.SetRate(float64(sc.Limits.MaxRequestPerSecond))
	}
	return sc, nil
}

func (c *Client) freshServiceConfig() *ServiceConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.service != nil && c.now().Sub(c.fetched) < c.configTTL {
		return c.service
	}
	return nil
}

func (c *Client) fetchServiceConfig(ctx context.Context) (*ServiceConfig, error) {
	const path = "/service/config"
	r := request{method: http.MethodGet, url: c.base + path, path: path}
	resp, err := c.exchange(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := c.check(r, resp); err != nil {
		return nil, err
	}
	sc, err := decodeServiceConfig(resp.body)
	if err != nil {
		return nil, fmt.Errorf("apple: GET %s: decoding the response: %w", path, err)
	}
	return sc, nil
}

// Limits returns the live limits from the service config.
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	sc, err := c.ServiceConfig(ctx)
	if err != nil {
		return Limits{}, err
	}
	return sc.Limits, nil
}

// InvitationURL fills the urls.invitationEmail template with a user's
// inviteCode.
func (s *ServiceConfig) InvitationURL(inviteCode string) (string, error) {
	tmpl := s.URLs["invitationEmail"]
	if tmpl == "" || inviteCode == "" {
		return "", fmt.Errorf("apple: %w: need urls.invitationEmail and an invite code", ErrInvalidRequest)
	}
	// Apple's template holds the placeholder URL-encoded: %25inviteCode%25.
	for _, placeholder := range []string{"%25inviteCode%25", "%inviteCode%"} {
		if strings.Contains(tmpl, placeholder) {
			return strings.ReplaceAll(tmpl, placeholder, url.QueryEscape(inviteCode)), nil
		}
	}
	return "", fmt.Errorf("apple: urls.invitationEmail %q has no inviteCode placeholder", tmpl)
}

// ClientConfig is Apple's ClientConfigResponse.
type ClientConfig struct {
	Envelope
	CountryISO2ACode string
	// DefaultPlatform is PlatformEducation or PlatformBusiness.
	DefaultPlatform string
	LocationName    string
	// NotificationAuthToken is the shared secret Apple sends with
	// notifications; treat it as a credential.
	NotificationAuthToken       string
	NotificationURL             string
	SubscribedNotificationTypes []string
	// WebsiteURL is https://school.apple.com or https://business.apple.com.
	WebsiteURL string
}

type clientConfigWire struct {
	envelopeWire
	CountryISO2ACode            string   `json:"countryISO2ACode"`
	DefaultPlatform             string   `json:"defaultPlatform"`
	LocationName                string   `json:"locationName"`
	NotificationAuthToken       string   `json:"notificationAuthToken"`
	NotificationURL             string   `json:"notificationUrl"`
	SubscribedNotificationTypes []string `json:"subscribedNotificationTypes"`
	WebsiteURL                  string   `json:"websiteURL"`
}

func (w *clientConfigWire) config() *ClientConfig {
	return &ClientConfig{
		Envelope:                    w.envelope(),
		CountryISO2ACode:            w.CountryISO2ACode,
		DefaultPlatform:             w.DefaultPlatform,
		LocationName:                w.LocationName,
		NotificationAuthToken:       w.NotificationAuthToken,
		NotificationURL:             w.NotificationURL,
		SubscribedNotificationTypes: w.SubscribedNotificationTypes,
		WebsiteURL:                  w.WebsiteURL,
	}
}

// ClientConfigRequest is Apple's ClientConfigRequest. Nil fields are not sent.
type ClientConfigRequest struct {
	// MDMInfo claims the location; all three fields are required.
	MDMInfo *MDMInfo `json:"mdmInfo,omitempty"`
	// NotificationURL and NotificationAuthToken go together; both empty
	// strings clear them.
	NotificationURL       *string `json:"notificationUrl,omitempty"`
	NotificationAuthToken *string `json:"notificationAuthToken,omitempty"`
	// NotificationTypes is the complete set of subscribed types; an empty
	// non-nil slice unsubscribes from all.
	NotificationTypes []string `json:"notificationTypes,omitzero"`
}

func (r ClientConfigRequest) validate(lim Limits) error {
	if m := r.MDMInfo; m != nil {
		if m.ID == "" || m.Name == "" || m.Metadata == "" {
			return fmt.Errorf("apple: %w: mdmInfo needs id, name and metadata", ErrInvalidRequest)
		}
		// Lengths in bytes, the strictest reading of Apple's limits.
		for _, err := range []error{
			checkCount("mdmInfo.id length", len(m.ID), lim.MaxMDMIDLength),
			checkCount("mdmInfo.name length", len(m.Name), lim.MaxMDMNameLength),
			checkCount("mdmInfo.metadata length", len(m.Metadata), lim.MaxMDMMetadataLength),
		} {
			if err != nil {
				return err
			}
		}
	}
	if (r.NotificationURL == nil) != (r.NotificationAuthToken == nil) {
		return fmt.Errorf("apple: %w: notificationUrl and notificationAuthToken must be sent together", ErrInvalidRequest)
	}
	if r.NotificationURL == nil {
		return nil
	}
	target, secret := *r.NotificationURL, *r.NotificationAuthToken
	if (target == "") != (secret == "") {
		return fmt.Errorf("apple: %w: notificationUrl and notificationAuthToken must both be set or both be empty", ErrInvalidRequest)
	}
	if err := checkCount("notificationUrl length", len(target), lim.MaxNotificationLength); err != nil {
		return err
	}
	if err := checkCount("notificationAuthToken length", len(secret), lim.MaxNotificationLength); err != nil {
		return err
	}
	if u, err := url.Parse(target); target != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
		return fmt.Errorf("apple: %w: notificationUrl must be an https URL", ErrInvalidRequest)
	}
	return nil
}

// GetClientConfig reads the client config (GET /client/config). When the
// envelope check fails (another MDM claimed the location, or a different
// location answered), it returns the config together with the
// *MDMConflictError or *LocationMismatchError, so that the caller can see who
// holds the location.
func (c *Client) GetClientConfig(ctx context.Context) (*ClientConfig, error) {
	var w clientConfigWire
	if err := c.call(ctx, http.MethodGet, "/client/config", nil, nil, &w); err != nil {
		return nil, err
	}
	cc := w.config()
	return cc, c.checkEnvelope(cc.Envelope)
}

// SetClientConfig writes the client config (POST /client/config), after
// checking req against the live limits. Like GetClientConfig, it returns the
// config together with an envelope error.
func (c *Client) SetClientConfig(ctx context.Context, req ClientConfigRequest) (*ClientConfig, error) {
	if err := c.checkRequest(ctx, req); err != nil {
		return nil, err
	}
	var w clientConfigWire
	if err := c.call(ctx, http.MethodPost, "/client/config", nil, req, &w); err != nil {
		return nil, err
	}
	cc := w.config()
	return cc, c.checkEnvelope(cc.Envelope)
}
