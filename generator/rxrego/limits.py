"""The bounds a sidecar puts on one request, shared by the generated router, `rxrego serve`,
`rxrego deploy-config` and the client. docs/decision-log.md and the README say why.

- MAX_BATCH_REQUESTS: the most requests one POST /v1/data/rxrego/decisions may carry; more
  is one `invalid_request` naming the field `requests` (the generated router's
  `max_batch_requests`). A full batch of typical requests is about 230 KB and takes about
  3 s of one core (about 6 ms a decision), which bounds what one request can cost.
- MAX_BODY_BYTES: OPA's `server.decoding.max_length`, the bytes read from a request body,
  compressed or not; a body declaring more is refused before authentication.
- MAX_DECOMPRESSED_BYTES: OPA's `server.decoding.gzip.max_length`, the bytes a gzip body may
  inflate to (a gzip body may hold no more than a plain one may). The client refuses a body
  over MAX_BODY_BYTES before sending it.
- MAX_REQUEST_ID_CHARS: the longest `request_id` a request may carry (the request schema's
  `maxLength`): it is an opaque case number echoed in the decision and written to the
  decision log, never a document.
- MAX_CRITERION_DEPTH: the deepest nesting of combinators (all_of, any_of, at_least, a
  conditional, not) over a leaf criterion a spec may write (a leaf is depth 0). The data
  form's shared interpreter (rxrego/catalog/catalog.rego) evaluates criteria one depth at a
  time, with a fixed number of levels, because Rego rules cannot recurse; `rxrego check`
  refuses a deeper spec, naming the criterion. Real policies nest 3 levels at most.
"""

MAX_BATCH_REQUESTS = 500
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024
MAX_REQUEST_ID_CHARS = 128
MAX_CRITERION_DEPTH = 16
