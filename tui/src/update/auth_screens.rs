//! Keys on the sign-in and sign-up screens.

use super::*;

pub(super) fn is_switch(key: &KeyEvent) -> bool {
    key.code == KeyCode::F(2)
        || (key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('n'))
}

pub(super) fn on_sign_in_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let Screen::SignIn(form) = &mut app.screen else {
        return vec![];
    };
    if is_switch(&key) {
        let email = form.email.clone();
        app.screen = Screen::SignUp(SignUpForm {
            email,
            ..SignUpForm::default()
        });
        return vec![];
    }
    match key.code {
        KeyCode::Esc => app.quit = true,
        KeyCode::Tab | KeyCode::Down => form.move_focus(1),
        KeyCode::BackTab | KeyCode::Up => form.move_focus(-1),
        KeyCode::Enter if form.focus == SignInField::Code => {
            let (Some(token), code) = (form.challenge.clone(), form.code.text().trim().to_string()) else {
                return vec![];
            };
            if code.is_empty() {
                form.error = Some("Type the code".into());
                return vec![];
            }
            form.error = None;
            return launch(app, Cmd::SignInCode(token, code));
        }
        KeyCode::Enter => {
            if form.email.text().trim().is_empty() {
                form.error = Some("Type your email".into());
                form.focus = SignInField::Email;
            } else if form.focus == SignInField::Email {
                form.focus = SignInField::Password;
            } else if form.password.text().is_empty() {
                form.error = Some("Type your password".into());
            } else {
                form.error = None;
                let request = SignInRequest {
                    email: form.email.text().trim().to_string(),
                    password: form.password.secret(),
                };
                return launch(app, Cmd::SignIn(request));
            }
        }
        _ => {
            // A changed email or password is a new sign-in: the code asked for goes.
            if form.focus != SignInField::Code && form.challenge.is_some() {
                form.challenge = None;
            }
            let _ = match form.focus {
                SignInField::Email => form.email.handle_key(key),
                SignInField::Password => form.password.handle_key(key),
                SignInField::Code => form.code.handle_key(key),
            };
        }
    }
    vec![]
}

pub(super) fn on_sign_up_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let Screen::SignUp(form) = &mut app.screen else {
        return vec![];
    };
    if is_switch(&key) {
        let email = form.email.clone();
        app.screen = Screen::SignIn(SignInForm {
            email,
            ..SignInForm::default()
        });
        return vec![];
    }
    match key.code {
        KeyCode::Esc => app.quit = true,
        KeyCode::Tab | KeyCode::Down => form.move_focus(1),
        KeyCode::BackTab | KeyCode::Up => form.move_focus(-1),
        KeyCode::Enter if form.focus != SignUpField::Confirm => form.move_focus(1),
        KeyCode::Enter => {
            let checks = form.checks();
            if !(checks.email_ok && checks.length_ok && checks.match_ok && checks.strength_problem.is_none())
            {
                form.error = Some("Fix the marked fields first".into());
                return vec![];
            }
            form.error = None;
            form.password_reason = None;
            let name = form.name.text().trim();
            let request = SignUpRequest {
                email: form.email.text().trim().to_string(),
                password: form.password.secret(),
                name: (!name.is_empty()).then(|| name.to_string()),
            };
            return launch(app, Cmd::SignUp(request));
        }
        _ => {
            let field = match form.focus {
                SignUpField::Name => &mut form.name,
                SignUpField::Email => &mut form.email,
                SignUpField::Password => &mut form.password,
                SignUpField::Confirm => &mut form.confirm,
            };
            if field.handle_key(key) && form.focus.is_password() {
                form.password_reason = None;
            }
        }
    }
    vec![]
}
