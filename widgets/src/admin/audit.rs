//! (in progress)

use yew::prelude::*;

use super::TabProps;

#[function_component]
pub fn Audit(props: &TabProps) -> Html {
    let _ = props;
    html! {}
}
