package applesim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testUID = "2049025000431439"

// testOptions are fast and deterministic: no rate limit, events wait for ProcessPendingEvents.
func testOptions() Options {
	return Options{DisableRateLimit: true, ProcessingDelay: time.Hour}
}

// env is a simulator served over real HTTP with one location and one token.
type env struct {
	t     *testing.T
	sim   *Server
	ts    *httptest.Server
	uid   string
	token string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	sim := New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	t.Cleanup(sim.Close) // runs first: wakes handlers sleeping in a slow fault
	loc, err := sim.CreateLocation(LocationSpec{Name: "PS01", OrgName: "ORG12345", UID: testUID, CountryCode: "DE"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sim.MintToken(loc.UID, time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, sim: sim, ts: ts, uid: loc.UID, token: tok}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body is JSON-encoded unless it is a string.
func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	return e.doWith(e.ts.Client(), method, path, token, body)
}

func (e *env) doWith(client *http.Client, method, path, token string, body any) response {
	e.t.Helper()
	req := e.request(method, path, token, body)
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func (e *env) request(method, path, token string, body any) *http.Request {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	url := e.ts.URL + path
	if !strings.HasPrefix(path, "/WebObjects") {
		url = e.ts.URL + apiPrefix + path
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// get and post use the env's token and fail the test unless the answer is 200.
func (e *env) get(path string, out any) {
	e.t.Helper()
	e.ok(e.do(http.MethodGet, path, e.token, nil), out)
}

func (e *env) post(path string, body, out any) {
	e.t.Helper()
	e.ok(e.do(http.MethodPost, path, e.token, body), out)
}

func (e *env) ok(r response, out any) {
	e.t.Helper()
	if r.status != http.StatusOK {
		e.t.Fatalf("status %d: %s", r.status, r.body)
	}
	if n := r.errorNumber(e.t); n != 0 {
		e.t.Fatalf("error body %d: %s", n, r.body)
	}
	if out != nil {
		r.decode(e.t, out)
	}
}

func (r response) decode(t *testing.T, out any) {
	t.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorNumber(t *testing.T) int {
	t.Helper()
	var e struct {
		ErrorNumber int `json:"errorNumber"`
	}
	if len(r.body) > 0 && r.body[0] == '{' {
		r.decode(t, &e)
	}
	return e.ErrorNumber
}

// expectError checks status and errorNumber of a response.
func (e *env) expectError(r response, status, number int) {
	e.t.Helper()
	if r.status != status || r.errorNumber(e.t) != number {
		e.t.Fatalf("got status %d body %s, want status %d errorNumber %d", r.status, r.body, status, number)
	}
}

// Wire shapes as a client sees them.
type wireEvent struct {
	EventID             string `json:"eventId"`
	UID                 string `json:"uId"`
	TokenExpirationDate string `json:"tokenExpirationDate"`
}

type wireError struct {
	ErrorNumber  int    `json:"errorNumber"`
	ErrorMessage string `json:"errorMessage"`
	ErrorInfo    struct {
		Assets        []assetRef `json:"assets"`
		ClientUserIDs []string   `json:"clientUserIds"`
		SerialNumbers []string   `json:"serialNumbers"`
	} `json:"errorInfo"`
}

type wireStatus struct {
	EventStatus  string      `json:"eventStatus"`
	EventType    string      `json:"eventType"`
	NumRequested int         `json:"numRequested"`
	NumCompleted int         `json:"numCompleted"`
	Failures     []wireError `json:"failures"`
	UID          string      `json:"uId"`
}

type wirePage struct {
	CurrentPageIndex int    `json:"currentPageIndex"`
	NextPageIndex    *int   `json:"nextPageIndex"`
	Size             int    `json:"size"`
	TotalPages       int    `json:"totalPages"`
	VersionID        string `json:"versionId"`
}

type wireUser struct {
	ClientUserID string `json:"clientUserId"`
	Email        string `json:"email"`
	IDHash       string `json:"idHash"`
	InviteCode   string `json:"inviteCode"`
	Status       string `json:"status"`
}

type wireUsers struct {
	Users []wireUser `json:"users"`
	wirePage
}

type wireAssignment struct {
	AdamID       string `json:"adamId"`
	PricingParam string `json:"pricingParam"`
	ClientUserID string `json:"clientUserId"`
	SerialNumber string `json:"serialNumber"`
	UserStatus   string `json:"userStatus"`
	IDHash       string `json:"idHash"`
}

type wireAssignments struct {
	Assignments []wireAssignment `json:"assignments"`
	wirePage
}

type wireAsset struct {
	AdamID             string   `json:"adamId"`
	PricingParam       string   `json:"pricingParam"`
	ProductType        string   `json:"productType"`
	AssignedCount      int      `json:"assignedCount"`
	AvailableCount     *int     `json:"availableCount"`
	TotalCount         *int     `json:"totalCount"`
	RetiredCount       *int     `json:"retiredCount"`
	Revocable          bool     `json:"revocable"`
	DeviceAssignable   bool     `json:"deviceAssignable"`
	SupportedPlatforms []string `json:"supportedPlatforms"`
}

type wireAssets struct {
	Assets          []wireAsset `json:"assets"`
	UnlimitedAssets []wireAsset `json:"unlimitedAssets"`
	wirePage
}

// submit posts an async request and returns its eventId.
func (e *env) submit(path string, body any) string {
	e.t.Helper()
	var ev wireEvent
	e.post(path, body, &ev)
	if ev.EventID == "" {
		e.t.Fatalf("no eventId")
	}
	return ev.EventID
}

// run submits an async request, processes it and returns its final status.
func (e *env) run(path string, body any) wireStatus {
	e.t.Helper()
	id := e.submit(path, body)
	e.sim.ProcessPendingEvents()
	return e.status(id)
}

func (e *env) status(id string) wireStatus {
	e.t.Helper()
	var st wireStatus
	e.get("/status?eventId="+id, &st)
	return st
}

type ids = []string

func users(ids ...string) map[string]any {
	list := make([]map[string]string, len(ids))
	for i, id := range ids {
		list[i] = map[string]string{"clientUserId": id, "email": id + "@example.com"}
	}
	return map[string]any{"users": list}
}

func assets(adamIDs ...string) []map[string]string {
	list := make([]map[string]string, len(adamIDs))
	for i, id := range adamIDs {
		list[i] = map[string]string{"adamId": id, "pricingParam": "STDQ"}
	}
	return list
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (e *env) mustAddBook(adamID string, licenses int) {
	e.t.Helper()
	if err := e.sim.AddBook(e.uid, BookSpec{AdamID: adamID, Title: "Book " + adamID, Author: "Author", Licenses: licenses}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) mustAddApp(adamID string, licenses int) {
	e.t.Helper()
	if err := e.sim.AddApp(e.uid, AppSpec{AdamID: adamID, Name: "App " + adamID, Licenses: licenses}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) mustCreateUsers(ids ...string) {
	e.t.Helper()
	if st := e.run("/users/create", users(ids...)); st.EventStatus != EventComplete {
		e.t.Fatalf("create users: %+v", st)
	}
}
