//! A trace told as a short story, one line per input ("b.example sends a commit to partition
//! 35dc…, announcing 91de…"), so a shrunk counterexample reads in one glance. Partition keys
//! show their first two bytes, byte strings their text when it is printable.

use mimi_ds_model::codec::{Bytes, ContentType, MlsMessage, PartitionKey, SendRequest};
use mimi_ds_model::ds::{Input, NoAnswer, TokenScope};

/// `inputs` as numbered lines.
pub fn tell<'a>(inputs: impl IntoIterator<Item = &'a Input>) -> Vec<String> {
    inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| format!("{}. {}", i + 1, line(input)))
        .collect()
}

fn key(key: &PartitionKey) -> String {
    format!("{}…", hex::encode(&key.0[..2]))
}

fn text(bytes: &Bytes) -> String {
    match std::str::from_utf8(&bytes.0) {
        Ok(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() || c == ' ') => s.into(),
        _ => format!("0x{}", hex::encode(&bytes.0[..bytes.0.len().min(4)])),
    }
}

fn kind(message: &MlsMessage) -> &'static str {
    match message.view.content_type {
        Some(ContentType::Commit) => "a commit",
        Some(ContentType::Proposal) => "a proposal",
        Some(ContentType::Application) => "an application message",
        None => "a message of no content type (not a PublicMessage or PrivateMessage)",
    }
}

/// "a commit to partition 35dc…, announcing 91de…, welcoming b.example".
fn sent(request: &SendRequest) -> String {
    let mut line = format!(
        "{} to partition {}",
        kind(&request.message),
        key(&request.partition_key)
    );
    if let Some(data) = &request.commit_data {
        line += &format!(", announcing {}", key(&data.next_partition_key));
        if data.group_info.is_none() {
            line += ", without GroupInfo";
        }
        if let Some(welcome) = &data.welcome_data {
            let to: Vec<&str> = welcome
                .service_providers
                .iter()
                .map(|p| p.as_str())
                .collect();
            line += &format!(", welcoming users of {}", to.join(" and "));
        }
    }
    line
}

fn line(input: &Input) -> String {
    match input {
        Input::Send { from, request } => format!("{from} sends {}", sent(request)),
        Input::LocalSend { user, request } => {
            format!("local user {} sends {}", text(user), sent(request))
        }
        Input::Receive { from, request } => format!(
            "{from} reads partition {} from counter {}",
            key(&request.partition_key),
            request.counter
        ),
        Input::LocalReceive { group_id, request } => format!(
            "a local user of group {} reads partition {} from counter {}",
            text(group_id),
            key(&request.partition_key),
            request.counter
        ),
        Input::ExternalJoin { from, request } => format!(
            "{from} joins from outside with {}, announcing {}",
            kind(&request.message),
            key(&request.commit_data.next_partition_key)
        ),
        Input::GroupInfo { from, request } => {
            format!(
                "{from} asks for the GroupInfo of {}",
                text(&request.group_id)
            )
        }
        Input::KeyPackage { request } => format!(
            "a requester asks for a KeyPackage of {} with token {} (suite {})",
            text(&request.user_id),
            text(&request.bearer_token),
            request.cipher_suite
        ),
        Input::KeyPackageBundle { request } => {
            let users: Vec<String> = request.requests.iter().map(|r| text(&r.user_id)).collect();
            format!(
                "a requester asks in one bundle for KeyPackages of {}",
                users.join(", ")
            )
        }
        Input::WelcomeInit { from, request } => format!(
            "{from} asks whether a Welcome for {} KeyPackageRef(s) is welcome",
            request.key_package_refs.len()
        ),
        Input::WelcomePush { from, welcome } => match welcome.view.content_type {
            None => format!("{from} pushes a Welcome"),
            Some(_) => format!("{from} pushes {} as a Welcome", kind(welcome)),
        },
        Input::Push { from, response } => {
            let messages = response.epoch.messages.len()
                + response
                    .hints
                    .iter()
                    .map(|h| h.epoch.messages.len())
                    .sum::<usize>();
            let mut groups: Vec<String> = response
                .epoch
                .messages
                .iter()
                .chain(response.hints.iter().flat_map(|h| &h.epoch.messages))
                .filter_map(|m| m.message.view.group_id.as_ref().map(text))
                .collect();
            groups.dedup();
            match groups.as_slice() {
                [] => format!("{from} pushes {messages} message(s)"),
                groups => format!(
                    "{from} pushes {messages} message(s) of group {}",
                    groups.join(", ")
                ),
            }
        }
        Input::Malformed { endpoint, .. } => {
            format!(
                "a body that does not decode arrives at {}",
                endpoint_name(endpoint)
            )
        }
        Input::Unidentified { endpoint, claimed } => match claimed {
            None => format!(
                "a caller with no identity sends to {}",
                endpoint_name(endpoint)
            ),
            Some(c) => format!(
                "a caller claiming {c:?} sends to {}",
                endpoint_name(endpoint)
            ),
        },
        Input::WelcomeInitAnswered {
            provider,
            accepted,
            no_answer,
        } => match no_answer {
            Some(NoAnswer::Closed) => {
                format!("{provider} closes the connection without answering the WelcomeInit")
            }
            Some(NoAnswer::ServerError) => format!("{provider} answers the WelcomeInit 500"),
            Some(NoAnswer::Undecodable) => {
                format!("{provider} answers the WelcomeInit with an empty body")
            }
            None => format!(
                "{provider} answers the WelcomeInit {}",
                if *accepted { "yes" } else { "no" }
            ),
        },
        Input::CreateGroup {
            group_id,
            partition_key,
        } => format!(
            "the operator creates group {} with partition {}",
            text(group_id),
            key(partition_key)
        ),
        Input::UploadKeyPackages { user, key_packages } => format!(
            "user {} uploads {} KeyPackage(s)",
            text(user),
            key_packages.len()
        ),
        Input::IssueToken(token) => match &token.scope {
            TokenScope::User(user) => format!(
                "the RSP issues token {} for {}",
                text(&token.token),
                text(user)
            ),
            TokenScope::Shared => format!("the RSP issues the shared token {}", text(&token.token)),
        },
        Input::RevokeToken { token } => format!("the RSP revokes token {}", text(token)),
        Input::Mute { user } => format!("the operator mutes {}", text(user)),
        Input::RateLimit { user, budget } => {
            format!(
                "the operator lets {} send {budget} more message(s)",
                text(user)
            )
        }
        Input::TerminateBranch { partition_key } => {
            format!("the operator terminates partition {}", key(partition_key))
        }
        Input::FollowGroup { group_id, hub } => {
            format!(
                "the target follows group {} hosted at {hub}",
                text(group_id)
            )
        }
        Input::SelfRemove { group_id } => {
            format!("the last local user leaves group {}", text(group_id))
        }
    }
}

fn endpoint_name(endpoint: &mimi_ds_model::ds::Endpoint) -> String {
    mimi_ds_binding::path(*endpoint)
}
