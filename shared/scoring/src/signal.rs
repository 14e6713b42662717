//! Canonical signals: everything a lead can do that the rules score.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a signal says about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// Real interest shown (opens, downloads, visits...).
    Interest,
    /// Buying intent: the person asked to be contacted or tried the product.
    HandRaise,
    /// Disengagement or deliverability trouble.
    Negative,
    /// What sales learned and sent back.
    SalesFeedback,
    /// The customer recommends the brand.
    Advocacy,
}

macro_rules! signals {
    ($($variant:ident => $name:literal, $kind:ident;)*) => {
        /// A canonical signal. Parsed from its snake_case name; unknown names are errors.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Signal {
            $($variant,)*
        }

        impl Signal {
            pub const ALL: &'static [Signal] = &[$(Signal::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Signal::$variant => $name,)*
                }
            }

            pub const fn kind(self) -> SignalKind {
                match self {
                    $(Signal::$variant => SignalKind::$kind,)*
                }
            }
        }

        impl FromStr for Signal {
            type Err = UnknownSignal;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Signal::$variant),)*
                    _ => Err(UnknownSignal(s.to_string())),
                }
            }
        }
    };
}

signals! {
    NewsletterSubscribed => "newsletter_subscribed", Interest;
    EmailOpened => "email_opened", Interest;
    EmailClicked => "email_clicked", Interest;
    ContentDownloaded => "content_downloaded", Interest;
    FormSubmitted => "form_submitted", Interest;
    ChatbotQuestion => "chatbot_question", Interest;
    ProductFavorited => "product_favorited", Interest;
    SocialFollowed => "social_followed", Interest;
    SocialShared => "social_shared", Interest;
    DemoVideoWatched => "demo_video_watched", Interest;
    SiteVisit => "site_visit", Interest;
    DemoRequested => "demo_requested", HandRaise;
    FreeTrialStarted => "free_trial_started", HandRaise;
    SampleRequested => "sample_requested", HandRaise;
    MeetingRequested => "meeting_requested", HandRaise;
    CartAdded => "cart_added", HandRaise;
    FreeVersionDownloaded => "free_version_downloaded", HandRaise;
    ContactRequested => "contact_requested", HandRaise;
    Unsubscribed => "unsubscribed", Negative;
    Bounced => "bounced", Negative;
    SpamComplaint => "spam_complaint", Negative;
    SalesAccepted => "sales_accepted", SalesFeedback;
    SalesRejected => "sales_rejected", SalesFeedback;
    OpportunityOpened => "opportunity_opened", SalesFeedback;
    DealWon => "deal_won", SalesFeedback;
    DealLost => "deal_lost", SalesFeedback;
    // Not in the original list: an explicit disqualification and BANT answers from a sales call
    // are sales feedback too, and must be ledger events like everything else.
    Disqualified => "disqualified", SalesFeedback;
    BantReported => "bant_reported", SalesFeedback;
    EvangelistConfirmed => "evangelist_confirmed", SalesFeedback;
    ReviewPosted => "review_posted", Advocacy;
    ReferralMade => "referral_made", Advocacy;
    PromoterAnswer => "promoter_answer", Advocacy;
}

impl Signal {
    pub fn is_hand_raise(self) -> bool {
        self.kind() == SignalKind::HandRaise
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal {0:?}")]
pub struct UnknownSignal(pub String);

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in Signal::ALL {
            assert_eq!(s.as_str().parse::<Signal>().unwrap(), *s);
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert!("demo".parse::<Signal>().is_err());
    }
}
