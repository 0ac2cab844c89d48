//! A category's questions: the form (a Discord modal) a click on its open button shows, and the
//! answers read back from the submit. The ticket opens only on the submit ([`super::open`]).

use ticketeer_config::{ANSWER_MAX_CHARS, QuestionStyle};
use twilight_model::application::interaction::modal::{
    ModalInteractionComponent, ModalInteractionData,
};
use twilight_model::channel::message::Component;
use twilight_model::channel::message::component::{Label, TextInput, TextInputStyle};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};

use crate::config::Category;
use crate::custom_id::CustomId;
use crate::store::FormAnswer;

/// The longest modal title Discord shows.
const TITLE_MAX_CHARS: usize = 45;

/// The custom id of question `index`'s field.
fn field_id(index: usize) -> String {
    format!("q{index}")
}

/// The form category `category_key` shows before opening, or `None` when it asks nothing.
pub(super) fn open_form(category_key: &str, category: &Category) -> Option<InteractionResponse> {
    if category.questions.is_empty() {
        return None;
    }
    let fields = category
        .questions
        .iter()
        .enumerate()
        .map(|(index, question)| {
            let input = TextInput {
                custom_id: field_id(index),
                id: None,
                #[expect(deprecated, reason = "the label goes on the Label component instead")]
                label: None,
                max_length: Some(question.max_length.unwrap_or(ANSWER_MAX_CHARS)),
                min_length: question.min_length,
                placeholder: question.placeholder.clone(),
                required: Some(question.required),
                style: match question.style {
                    QuestionStyle::Short => TextInputStyle::Short,
                    QuestionStyle::Paragraph => TextInputStyle::Paragraph,
                },
                value: None,
            };
            Component::Label(Label {
                component: Box::new(Component::TextInput(input)),
                description: None,
                id: None,
                label: question.label.clone(),
            })
        })
        .collect();
    let title: String = category.name.chars().take(TITLE_MAX_CHARS).collect();
    Some(InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(InteractionResponseData {
            custom_id: Some(
                CustomId::OpenForm {
                    category_key: category_key.to_owned(),
                }
                .to_string(),
            ),
            title: Some(title),
            components: Some(fields),
            ..InteractionResponseData::default()
        }),
    })
}

/// The answers in a submitted form, paired with the category's questions in order; a question
/// the form did not carry (the config changed meanwhile) is answered blank.
pub(super) fn submitted_answers(
    data: &ModalInteractionData,
    category: &Category,
) -> Vec<FormAnswer> {
    category
        .questions
        .iter()
        .enumerate()
        .map(|(index, question)| FormAnswer {
            question: question.label.clone(),
            answer: submitted_text(&data.components, &field_id(index))
                .map(|text| {
                    text.trim()
                        .chars()
                        .take(usize::from(ANSWER_MAX_CHARS))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The text typed into the field `field` of a submitted form, wherever the form nests it.
pub(super) fn submitted_text<'a>(
    components: &'a [ModalInteractionComponent],
    field: &str,
) -> Option<&'a str> {
    components.iter().find_map(|component| match component {
        ModalInteractionComponent::TextInput(input) if input.custom_id == field => {
            Some(input.value.as_str())
        }
        ModalInteractionComponent::Label(label) => {
            submitted_text(std::slice::from_ref(&*label.component), field)
        }
        ModalInteractionComponent::ActionRow(row) => submitted_text(&row.components, field),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use ticketeer_config::QuestionConfig;

    use super::*;
    use crate::config::tests::category;

    fn asking() -> Category {
        let question = |label: &str, style, required| QuestionConfig {
            label: label.to_owned(),
            placeholder: Some("e.g. A-1234".to_owned()),
            style,
            required,
            min_length: Some(2),
            max_length: None,
        };
        Category {
            questions: vec![
                question("Order number", QuestionStyle::Short, true),
                question("What happened?", QuestionStyle::Paragraph, false),
            ],
            ..category(200_000_000_000_000_001, &[])
        }
    }

    #[test]
    fn a_category_without_questions_shows_no_form() {
        assert_eq!(open_form("support", &category(1, &[])), None);
    }

    #[test]
    fn the_form_has_a_labelled_field_per_question() {
        let form = open_form("support", &asking()).expect("a form");
        assert_eq!(form.kind, InteractionResponseType::Modal);
        let data = form.data.expect("data");
        assert_eq!(data.custom_id.as_deref(), Some("ticketeer:form:support"));
        assert_eq!(data.title.as_deref(), Some("Support"));
        let fields = data.components.expect("fields");
        assert_eq!(fields.len(), 2);
        let Component::Label(label) = &fields[1] else {
            panic!("a label: {:?}", fields[1]);
        };
        assert_eq!(label.label, "What happened?");
        let Component::TextInput(input) = &*label.component else {
            panic!("a text input");
        };
        assert_eq!(input.custom_id, "q1");
        assert_eq!(input.style, TextInputStyle::Paragraph);
        assert_eq!(input.required, Some(false));
        assert_eq!(
            (input.min_length, input.max_length),
            (Some(2), Some(ANSWER_MAX_CHARS))
        );
    }

    #[test]
    fn answers_are_read_in_question_order_and_a_missing_one_is_blank() {
        let data: ModalInteractionData = serde_json::from_value(serde_json::json!({
            "custom_id": "ticketeer:form:support",
            "components": [
                {"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "q0", "value": " A-1234 "}}
            ]
        }))
        .expect("modal data");
        let answers = submitted_answers(&data, &asking());
        assert_eq!(
            answers,
            [
                FormAnswer {
                    question: "Order number".to_owned(),
                    answer: "A-1234".to_owned()
                },
                FormAnswer {
                    question: "What happened?".to_owned(),
                    answer: String::new()
                }
            ]
        );
    }
}
