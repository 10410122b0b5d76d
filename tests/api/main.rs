//! The API against a real server on a random port: on SQLite always, and on PostgreSQL
//! when `MINSHENG_TEST_POSTGRES_URL` is set (as CI does).

mod admin;
mod auth;
mod cadre;
mod calendar;
mod content_check;
mod coords;
mod crash;
mod feed;
mod fuzz;
mod guard;
mod hotline;
mod intake;
mod leader;
mod leak;
mod map;
mod notify;
mod open311;
mod openapi_auth;
mod openapi_roles;
mod ops;
mod photos;
mod policy;
mod proxy;
mod public;
mod reports;
mod resilience;
mod roles;
mod streams;
mod supervision;
mod system;
mod validation;
mod visits;
mod wechat_mp;
mod whistle;
mod workflow;
