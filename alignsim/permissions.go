package alignsim

// Permissions a key may be minted with (KeyRequest.Permissions). align-contract.md
// names only write:user (POST /users/invite); the rest follow the same
// "<read|write>:<entity type>" pattern and are the simulator's assumption.
// A key with a nil permission list has full access within its scope; a key
// with a list may call only the endpoints whose permission it holds, and
// write does not imply read. GET /me needs no permission.
const (
	PermReadProject         = "read:project"  // GET /projects, /projects/:id, /projects/:id/members
	PermWriteProject        = "write:project" // POST|PATCH /projects, POST|DELETE members
	PermReadUser            = "read:user"     // GET /users
	PermWriteUser           = "write:user"    // POST /users/invite
	PermReadTimeEntry       = "read:time_entry"
	PermWriteTimeEntry      = "write:time_entry"
	PermReadWikiPage        = "read:wiki_page"
	PermWriteWikiPage       = "write:wiki_page"
	PermReadIntegrationLink = "read:integration_link"
	PermReadWebhook         = "read:webhook"
	PermWriteWebhook        = "write:webhook"
)

// knownPermissions is what POST /_sim/orgs/:org/keys accepts, so that a typo
// in a test fails loudly instead of silently denying everything.
var knownPermissions = []string{
	PermReadProject, PermWriteProject, PermReadUser, PermWriteUser,
	PermReadTimeEntry, PermWriteTimeEntry, PermReadWikiPage, PermWriteWikiPage,
	PermReadIntegrationLink, PermReadWebhook, PermWriteWebhook,
}
