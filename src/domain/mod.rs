//! Domain types: newtypes, parsing and pure rules. No I/O, no axum, no SQL.

pub mod api_token;
pub mod attribute_value;
pub mod audit;
pub mod catalog;
pub mod client;
pub mod date;
pub mod dn;
pub mod import;
pub mod input;
pub mod policy;
pub mod profile;
pub mod redirect_uri;
pub mod rights;
pub mod scope;
pub mod sealed;
pub mod secret;
pub mod throttle;
pub mod time;
pub mod user;
pub mod user_type;

pub use client::{AuthMethod, Client, ClientType, GrantType};
pub use profile::SecurityProfile;
pub use redirect_uri::RedirectUri;
pub use rights::{authorize, authorize_account_change, Action, Principal, Refusal, Right};
pub use scope::Scopes;
pub use secret::{random_token, Secret, TokenHash};
pub use time::{Clock, ClockOffset, UnixTime};
pub use user::{Contact, User};
pub use user_type::UserTypeModel;
