//! # agentwarrant-rmcp
//!
//! [agentwarrant](agentwarrant) for MCP servers built with the official Rust SDK, [`rmcp`]:
//! [`GuardedServer`] wraps any [`ServerHandler`] and authorizes every `tools/call` in an
//! agentwarrant [`Task`] before the tool runs.
//!
//! - **Allowed** (or approved): the inner handler's `call_tool` runs under the call's
//!   [`Warrant`](agentwarrant::Warrant) and its outcome is recorded: a result with
//!   `is_error: true` or a protocol error as the call's error, any other result as success.
//! - **Refused**: the inner handler is never called. The client gets a [`CallToolResult`]
//!   with `is_error: true` and the agent-safe text of
//!   [`Refusal::agent_message`](agentwarrant::Refusal::agent_message) (tool, reason codes and
//!   their descriptions; never args, details or policy), which a model can read and act on, as
//!   the Python adapter's `guard_server` answers.
//! - **Needs approval**: the guard's own approver is asked (on a thread of its own:
//!   [`Task::guard_approver`]), or the [`AsyncApprover`] of the [`TaskRunner`] the server was
//!   given; the tool runs only once a person approved. Dropping the request while it waits (a
//!   cancelled `tools/call`) refuses and records the call.
//!
//! Everything else (`initialize`, `tools/list`, resources, prompts, ...) passes through to
//! the inner handler unchanged. A tool the guard has no [`ToolSpec`](agentwarrant::ToolSpec)
//! for is refused (`unknown_tool`) unless the guard has a default tool: declare every tool the
//! server lists.
//!
//! ```no_run
//! use agentwarrant::{Guard, Identity, Impact, Intent, Role, ToolSpec};
//! use agentwarrant_rmcp::GuardedServer;
//! use rmcp::ServerHandler;
//!
//! /// Any rmcp server, e.g. one built with `#[tool_router]` and `#[tool_handler]`.
//! #[derive(Clone)]
//! struct Files;
//! impl ServerHandler for Files {}
//!
//! # async fn serve(transport: tokio::io::DuplexStream) -> Result<(), Box<dyn std::error::Error>> {
//! let guard = Guard::builder()
//!     .tool(ToolSpec::builder("read_file", Impact::Low).scope("files.read:{path:path}").build()?)
//!     .tool(ToolSpec::builder("delete_file", Impact::High).reversible(false)
//!         .scope("files.delete:{path:path}").build()?)
//!     .build()?;
//! let agent = Identity::builder("agent://acme/files", Role::Executor, "alice@acme.com")
//!     .ceiling(["files.*:*"])
//!     .build()?;
//! let task = guard.begin(agent, Intent::builder("tidy the docs").scopes(["files.*:docs/*"]).build()?)?;
//!
//! let server = GuardedServer::new(Files, task);   // every tools/call now needs a warrant
//! let running = rmcp::ServiceExt::serve(server, transport).await?;
//! running.waiting().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::future::Future;

#[cfg(doc)]
use agentwarrant::{AsyncApprover, Task};
use agentwarrant::{Outcome, Refusal, TaskRunner, ToolCall};
// The SDK still routes the legacy logging and subscription requests; they are forwarded as is.
#[expect(deprecated, reason = "forwarded to the inner handler unchanged")]
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    CancelledNotificationParam, CompleteRequestParams, CompleteResult, ContentBlock,
    CustomNotification, CustomRequest, CustomResult, DiscoverResult, GetPromptRequestParams,
    GetPromptResponse, GetSkillRequestParams, GetSkillResult, GetTaskParams, GetTaskResult,
    InitializeRequestParams, InitializeResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListSkillsResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProtocolVersion, ReadResourceDirectoryRequestParams,
    ReadResourceDirectoryResult, ReadResourceRequestParams, ReadResourceResponse, ServerConfig,
    SetLevelRequestParams, SubscribeRequestParams, SubscriptionFilter, Tool,
    UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{MaybeSendFuture, NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

/// An MCP server whose every `tools/call` is authorized by an agentwarrant [`Task`] before
/// the inner handler runs it. See the [crate docs](crate).
///
/// The task is the one unit of work the server's calls belong to: typically one per client
/// connection (serve a new `GuardedServer` per connection), ended when the connection
/// closes (`task.end()`, or dropping the last handle to it), which revokes its grant. A call
/// that needs approval asks the guard's approver, or the one given with
/// `TaskRunner::new(task).approver(..)`.
#[derive(Clone)]
pub struct GuardedServer<S> {
    inner: S,
    runner: TaskRunner,
}

impl<S> std::fmt::Debug for GuardedServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedServer")
            .field("runner", &self.runner)
            .finish_non_exhaustive()
    }
}

impl<S: ServerHandler> GuardedServer<S> {
    /// Guards `inner`: its tool calls run in the runner's task (a [`Task`], an `Arc<Task>`,
    /// or a [`TaskRunner`] with an approver of its own).
    pub fn new(inner: S, runner: impl Into<TaskRunner>) -> Self {
        Self {
            inner,
            runner: runner.into(),
        }
    }

    /// The task and approver the server's calls run with.
    pub fn runner(&self) -> &TaskRunner {
        &self.runner
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The guarded `tools/call`: authorize, run the inner handler under the warrant, record
    /// its outcome; a refusal becomes the error result the model reads.
    async fn guarded_call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = serde_json::Value::Object(request.arguments.clone().unwrap_or_default());
        let call = ToolCall::new(request.name.as_ref(), args);
        // SECURITY: the inner handler is called only with a warrant; every refusal, engine
        // errors included, answers the client without calling it.
        let inner = &self.inner;
        let running = self.runner.run(
            call,
            |_warrant| inner.call_tool(request, context),
            outcome_of,
        );
        running
            .await
            .unwrap_or_else(|refusal| Ok(refused_result(&refusal).into()))
    }
}

/// The tool-error result (`is_error: true`) a model reads for a refused call: the
/// refusal's [agent message](Refusal::agent_message) as text.
pub fn refused_result(refusal: &Refusal) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(refusal.agent_message())])
}

/// How a `tools/call` answered, as the call's recorded outcome.
fn outcome_of(response: &Result<CallToolResponse, McpError>) -> Outcome {
    match response {
        Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
            let texts: Vec<&str> = result
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
                .collect();
            if texts.is_empty() {
                Outcome::error("the tool reported an error")
            } else {
                Outcome::error(texts.join("; "))
            }
        }
        // The tool asks the client for input; the client's retry is a new call, decided again.
        Ok(CallToolResponse::InputRequired(_)) => {
            Outcome::error("the tool asked the client for more input (input_required)")
        }
        // A completed result, or a task created to run the call (its result is fetched with
        // `tasks/get`, outside this call).
        Ok(_) => Outcome::ok(),
        Err(error) => Outcome::error(error.message.to_string()),
    }
}

/// Every method but `call_tool` is the inner handler's.
#[expect(
    deprecated,
    reason = "legacy requests are forwarded to the inner handler unchanged"
)]
impl<S: ServerHandler> ServerHandler for GuardedServer<S> {
    fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CallToolResponse, McpError>> + MaybeSendFuture + '_ {
        self.guarded_call(request, context)
    }
    fn ping(
        &self,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.inner.ping(context)
    }

    fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<InitializeResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.initialize(request, context)
    }

    fn negotiate_initialize(
        &self,
        request: &InitializeRequestParams,
    ) -> Result<InitializeResult, McpError> {
        self.inner.negotiate_initialize(request)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }

    fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<DiscoverResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.discover(context)
    }

    fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CompleteResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.complete(request, context)
    }

    fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.inner.set_level(request, context)
    }

    fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetPromptResponse, McpError>> + MaybeSendFuture + '_ {
        self.inner.get_prompt(request, context)
    }

    fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListPromptsResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.list_prompts(request, context)
    }

    fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListResourcesResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.list_resources(request, context)
    }

    fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListResourceTemplatesResult, McpError>> + MaybeSendFuture + '_
    {
        self.inner.list_resource_templates(request, context)
    }

    fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceResponse, McpError>> + MaybeSendFuture + '_ {
        self.inner.read_resource(request, context)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.inner.accepted_subscription_filter(requested)
    }

    fn listen(
        &self,
        context: SubscriptionContext,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.inner.listen(context)
    }

    fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.inner.subscribe(request, context)
    }

    fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.inner.unsubscribe(request, context)
    }

    fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListToolsResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.list_tools(request, context)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.get_tool(name)
    }

    fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CustomResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.on_custom_request(request, context)
    }

    fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.inner.on_cancelled(notification, context)
    }

    fn on_progress(
        &self,
        notification: ProgressNotificationParam,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.inner.on_progress(notification, context)
    }

    fn on_initialized(
        &self,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.inner.on_initialized(context)
    }

    fn on_roots_list_changed(
        &self,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.inner.on_roots_list_changed(context)
    }

    fn on_custom_notification(
        &self,
        notification: CustomNotification,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.inner.on_custom_notification(notification, context)
    }

    fn get_info(&self) -> ServerConfig {
        self.inner.get_info()
    }

    fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetTaskResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.get_task(request, context)
    }

    fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.inner.update_task(request, context)
    }

    fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        self.inner.cancel_task(request, context)
    }

    fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListSkillsResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.list_skills(request, context)
    }

    fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetSkillResult, McpError>> + MaybeSendFuture + '_ {
        self.inner.get_skill(request, context)
    }

    fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceDirectoryResult, McpError>> + MaybeSendFuture + '_
    {
        self.inner.read_resource_directory(request, context)
    }
}
