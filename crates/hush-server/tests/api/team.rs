//! A team, not one admin: removing people, changing their roles, setting
//! and changing passwords, and the organization's viewer policy, with the abuse tried.

use hush_testkit::{code, on_both_backends, Api, TestEnv};
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(
    people_are_removed_but_never_the_last_owner,
    roles_change_at_once_within_their_limits,
    passwords_are_set_and_changed_and_sessions_end,
    viewers_decrypt_only_where_the_organization_allows,
    project_roles_take_an_email,
    the_server_admin_runs_organizations,
);

const USERS: &str = "/v1/orgs/default/users";

async fn people_are_removed_but_never_the_last_owner(env: &TestEnv) {
    let api = Api::admin(env);
    let owner = api.user("olga@example.com", "owner").await;
    api.user("adam@example.com", "admin").await;
    api.user("mia@example.com", "member").await;
    let mia = api.login("mia@example.com").await;
    let adam = api.login("adam@example.com").await;
    // A member removes nobody; an admin removes no owner.
    let (status, body) = mia.delete(&format!("{USERS}/adam@example.com")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = adam.delete(&format!("{USERS}/{owner}")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "token_escalation")
    );
    // The last owner stays.
    let (status, body) = api.delete(&format!("{USERS}/olga@example.com")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "last_owner"),
        "{body}"
    );
    // An admin removes a member: their session stops at once.
    let (status, body) = adam.delete(&format!("{USERS}/MIA@example.com")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(mia.get("/v1/whoami").await.0, StatusCode::UNAUTHORIZED);
    let (_, list) = api.get(USERS).await;
    assert!(!list.to_string().contains("mia@"), "{list}");
    let (status, _) = api.delete(&format!("{USERS}/mia@example.com")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Two owners removing each other at the same instant: one goes, the
    // other stays, and the loser is told why (its session gone, it is no
    // owner any more, or it would remove the last owner).
    assert_eq!(
        role(&api, "adam@example.com", "owner").await.0,
        StatusCode::OK
    );
    let olga = api.login("olga@example.com").await;
    let (adam_path, olga_path) = (
        format!("{USERS}/adam@example.com"),
        format!("{USERS}/olga@example.com"),
    );
    let (first, second) = tokio::join!(olga.delete(&adam_path), adam.delete(&olga_path));
    let statuses = [first.0, second.0];
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count(),
        1,
        "{first:?} {second:?}"
    );
    assert!(
        statuses.iter().any(|s| [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::CONFLICT
        ]
        .contains(s)),
        "{first:?} {second:?}"
    );
    assert_eq!(owners(&api).await, 1);
}

/// How many owners the organization has.
async fn owners(api: &Api<'_>) -> usize {
    let (_, list) = api.get(USERS).await;
    list.as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == "owner")
        .count()
}

/// `who` sets `user`'s organization role.
async fn role(who: &Api<'_>, user: &str, role: &str) -> (StatusCode, serde_json::Value) {
    who.put(&format!("{USERS}/{user}/role"), json!({ "role": role }))
        .await
}

async fn roles_change_at_once_within_their_limits(env: &TestEnv) {
    let api = Api::admin(env);
    api.project("web", &["production"]).await;
    api.user("olga@example.com", "owner").await;
    api.user("adam@example.com", "admin").await;
    api.user("mia@example.com", "member").await;
    let olga = api.login("olga@example.com").await;
    let adam = api.login("adam@example.com").await;
    let mia = api.login("mia@example.com").await;
    let write = json!({ "value": "v" });
    let secret = "/v1/orgs/default/projects/web/secrets/KEY?env=production";
    assert_eq!(mia.put(secret, write.clone()).await.0, StatusCode::OK);
    // A token limited to one project changes no organization role, even
    // with org:admin.
    let limited = api.with(
        &api.token(json!({ "name": "web-admin", "scopes": ["org:admin"], "project": "web" }))
            .await,
    );
    let (status, body) = role(&limited, "mia@example.com", "admin").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "token_limited"),
        "{body}"
    );
    // A member changes nobody's role, not even their own.
    let (status, body) = role(&mia, "mia@example.com", "admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // An admin makes no owner, and unmakes none.
    for (user, to) in [("adam@example.com", "owner"), ("olga@example.com", "admin")] {
        let (status, body) = role(&adam, user, to).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "token_escalation"),
            "{user} → {to}"
        );
    }
    // An admin demotes a member: their live session loses the write at once.
    let (status, body) = role(&adam, "MIA@example.com", "viewer").await;
    assert_eq!(
        (status, body["role"].as_str()),
        (StatusCode::OK, Some("viewer"))
    );
    assert_eq!(
        mia.put(secret, write.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    // Nonsense is refused; strangers are not found.
    let (status, body) = role(&adam, "mia@example.com", "emperor").await;
    assert_eq!(code(&body), "invalid_role", "{status} {body}");
    let (status, _) = role(&adam, "nobody@example.com", "viewer").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The last owner stays one; with a second owner, the first can step down.
    let (status, body) = role(&olga, "olga@example.com", "admin").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "last_owner"),
        "{body}"
    );
    let (status, _) = role(&olga, "adam@example.com", "owner").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = role(&olga, "olga@example.com", "admin").await;
    assert_eq!(status, StatusCode::OK);
    // Two owners stepping each other down at the same instant: one wins,
    // the other is told it would leave no owner.
    let (status, _) = role(&adam, "olga@example.com", "owner").await;
    assert_eq!(status, StatusCode::OK);
    let olga = api.login("olga@example.com").await;
    let (first, second) = tokio::join!(
        role(&olga, "adam@example.com", "admin"),
        role(&adam, "olga@example.com", "admin"),
    );
    // The loser is refused either as the last owner's demotion or, if the
    // winner got there first, as an owner no more.
    let refused = if first.0 == StatusCode::OK {
        &second
    } else {
        &first
    };
    assert!(
        [first.0, second.0].contains(&StatusCode::OK)
            && ["last_owner", "token_escalation"].contains(&code(&refused.1)),
        "{first:?} {second:?}"
    );
    assert_eq!(owners(&api).await, 1);
    // Back to Adam the owner and Olga an admin, if Olga won.
    if first.0 == StatusCode::OK {
        assert_eq!(
            role(&olga, "adam@example.com", "owner").await.0,
            StatusCode::OK
        );
        assert_eq!(
            role(&adam, "olga@example.com", "admin").await.0,
            StatusCode::OK
        );
    }
    let (_, list) = api.get(USERS).await;
    let roles: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["email"].to_string(), u["role"].to_string()))
        .collect();
    for (email, role) in [
        ("olga@example.com", "admin"),
        ("adam@example.com", "owner"),
        ("mia@example.com", "viewer"),
    ] {
        assert!(
            roles.contains(&(format!("{email:?}"), format!("{role:?}"))),
            "{roles:?}"
        );
    }
}

async fn passwords_are_set_and_changed_and_sessions_end(env: &TestEnv) {
    let api = Api::admin(env);
    api.user("mia@example.com", "member").await;
    let login = |password: &'static str| {
        env.server
            .anonymous(Method::POST, "/v1/login")
            .json(&json!({ "email": "mia@example.com", "password": password }))
            .send()
    };
    let first = api.login("mia@example.com").await;
    // An admin sets it: the old session ends, the new password works.
    let (status, body) = api
        .put(
            &format!("{USERS}/mia@example.com/password"),
            json!({ "password": "set by the admin!!" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(first.get("/v1/whoami").await.0, StatusCode::UNAUTHORIZED);
    let session: serde_json::Value = login("set by the admin!!")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mia = api.with(session["token"].as_str().unwrap());
    // Changing one's own needs the current password, and only a session.
    let (status, body) = mia
        .put(
            "/v1/password",
            json!({ "current_password": "not the password", "new_password": "mine alone now!!" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "wrong_password")
    );
    let (status, body) = api
        .put(
            "/v1/password",
            json!({ "current_password": "x", "new_password": "mine alone now!!" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_a_session")
    );
    let (status, body) = mia
        .put(
            "/v1/password",
            json!({ "current_password": "set by the admin!!", "new_password": "short" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
    );
    let (status, body) = mia
        .put(
            "/v1/password",
            json!({ "current_password": "set by the admin!!", "new_password": "mine alone now!!" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(mia.get("/v1/whoami").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login("set by the admin!!").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login("mine alone now!!").await.unwrap().status(),
        StatusCode::OK
    );
    // Wrong current passwords are throttled like logins.
    let mia = api.login_with("mia@example.com", "mine alone now!!").await;
    let mut throttled = false;
    for _ in 0..12 {
        let (status, _) = mia
            .put(
                "/v1/password",
                json!({ "current_password": "guess guess guess", "new_password": "whatever it is!!" }),
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "guessing the current password is not throttled");
}

async fn viewers_decrypt_only_where_the_organization_allows(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    let (status, _) = api
        .put(
            &format!("{base}/secrets/API_KEY?env=production"),
            json!({ "value": "for the app" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    api.user("vic@example.com", "viewer").await;
    let vic = api.login("vic@example.com").await;
    let pull = format!("{base}/pull?env=production");
    assert_eq!(vic.get(&pull).await.0, StatusCode::FORBIDDEN);
    // A member cannot change the policy.
    api.user("mia@example.com", "member").await;
    let mia = api.login("mia@example.com").await;
    let (status, _) = mia
        .call(
            Method::PATCH,
            "/v1/orgs/default",
            Some(json!({ "viewers_decrypt": true })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, org) = api
        .call(
            Method::PATCH,
            "/v1/orgs/default",
            Some(json!({ "viewers_decrypt": true })),
        )
        .await;
    assert_eq!(
        (status, &org["viewers_decrypt"]),
        (StatusCode::OK, &json!(true)),
        "{org}"
    );
    let (status, body) = vic.get(&pull).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["secrets"]["API_KEY"], "for the app");
    // …and still writes nothing.
    let (status, _) = vic
        .put(
            &format!("{base}/secrets/API_KEY?env=production"),
            json!({ "value": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Off again: at once.
    api.call(
        Method::PATCH,
        "/v1/orgs/default",
        Some(json!({ "viewers_decrypt": false })),
    )
    .await;
    assert_eq!(vic.get(&pull).await.0, StatusCode::FORBIDDEN);
}

async fn project_roles_take_an_email(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    api.user("mia@example.com", "member").await;
    let (status, member) = api
        .put(
            &format!("{base}/members/mia@example.com"),
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(
        (status, &member["role"]),
        (StatusCode::OK, &json!("viewer")),
        "{member}"
    );
    let mia = api.login("mia@example.com").await;
    let (_, me) = mia.get("/v1/whoami").await;
    assert_eq!(
        me["project_roles"],
        json!([{ "project": "web", "role": "viewer" }]),
        "{me}"
    );
    let (status, _) = api.delete(&format!("{base}/members/mia@example.com")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, me) = mia.get("/v1/whoami").await;
    assert!(me.get("project_roles").is_none(), "{me}");
}

async fn the_server_admin_runs_organizations(env: &TestEnv) {
    let api = Api::admin(env);
    let (status, created) = api
        .post("/v1/orgs", json!({ "slug": "acme", "name": "Acme Inc." }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["organization"]["slug"], "acme");
    let acme = api.with(created["token"].as_str().unwrap());
    let (_, me) = acme.get("/v1/whoami").await;
    assert_eq!(me["org"], "acme", "{me}");
    // Running an organization is not running the server.
    let (status, body) = acme.post("/v1/orgs", json!({ "slug": "evil" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = acme
        .post(
            "/v1/orgs/acme/tokens",
            json!({ "name": "up", "kind": "api", "scopes": ["server:admin"] }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "token_escalation"),
        "{body}"
    );
    api.user("olga@example.com", "owner").await;
    let owner = api.login("olga@example.com").await;
    assert_eq!(
        owner.post("/v1/orgs", json!({ "slug": "mine" })).await.0,
        StatusCode::FORBIDDEN
    );
    // Each sees its own; the server admin sees all.
    let (_, theirs) = acme.get("/v1/orgs").await;
    assert_eq!(theirs.as_array().map(Vec::len), Some(1), "{theirs}");
    let (_, all) = api.get("/v1/orgs").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    // Reserved slugs and the admin's own organization are refused.
    let (status, body) = api.post("/v1/orgs", json!({ "slug": "secrets" })).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_slug"),
        "{body}"
    );
    let (status, _) = api.delete("/v1/orgs/default").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        acme.delete("/v1/orgs/default").await.0,
        StatusCode::FORBIDDEN
    );
    // Deleting takes everything in it, its tokens too.
    let (status, body) = api.delete("/v1/orgs/acme").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(acme.get("/v1/whoami").await.0, StatusCode::UNAUTHORIZED);
    let (_, verified) = api.get("/v1/orgs/default/audit/verify").await;
    assert_eq!(verified["ok"], true, "{verified}");
}
