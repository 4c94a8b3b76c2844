<?php
/**
 * GET /followup/cart/restore: the signed link from a recovery message puts the shopper's own
 * quote back in their session (with the code applied) and lands them on checkout.
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Controller\Cart;

use FollowUp\Recovery\Model\Config;
use FollowUp\Recovery\Model\RestoreLink;
use Magento\Checkout\Model\Session as CheckoutSession;
use Magento\Customer\Model\Session as CustomerSession;
use Magento\Framework\App\Action\HttpGetActionInterface;
use Magento\Framework\App\RequestInterface;
use Magento\Framework\Controller\ResultFactory;
use Magento\Framework\Controller\ResultInterface;
use Magento\Framework\Exception\NoSuchEntityException;
use Magento\Framework\Message\ManagerInterface;
use Magento\Framework\UrlInterface;
use Magento\Quote\Api\CartRepositoryInterface;
use Magento\Quote\Model\Quote;
use Magento\Store\Model\StoreManagerInterface;

class Restore implements HttpGetActionInterface
{
    public const RESTORED = 'restored';
    public const INVALID = 'invalid';
    public const EXPIRED = 'expired';
    public const USED = 'used';
    public const LOGIN = 'login';

    public function __construct(
        private readonly RequestInterface $request,
        private readonly ResultFactory $resultFactory,
        private readonly CheckoutSession $checkoutSession,
        private readonly CustomerSession $customerSession,
        private readonly CartRepositoryInterface $quotes,
        private readonly RestoreLink $links,
        private readonly Config $config,
        private readonly StoreManagerInterface $storeManager,
        private readonly ManagerInterface $messages,
        private readonly UrlInterface $url
    ) {
    }

    /**
     * Always a redirect, so the token leaves the address bar.
     */
    public function execute(): ResultInterface
    {
        $result = $this->restore();
        $redirect = $this->resultFactory->create(ResultFactory::TYPE_REDIRECT);
        if ($result === self::RESTORED) {
            return $redirect->setPath('checkout');
        }
        if ($result === self::LOGIN) {
            $this->customerSession->setBeforeAuthUrl($this->url->getUrl('checkout'));
            $this->messages->addNoticeMessage((string) __('Log in to pick up the cart you saved.'));
            return $redirect->setPath('customer/account/login');
        }
        $this->messages->addErrorMessage((string) __(self::notice($result)));
        return $redirect->setPath('checkout/cart');
    }

    /**
     * One of the result constants; the session and quote change only for RESTORED.
     */
    public function restore(): string
    {
        $storeId = (int) $this->storeManager->getStore()->getId();
        $secret = $this->config->isConfigured($storeId) ? $this->config->secret($storeId) : '';
        $params = [];
        foreach (['token', 'expires', 'discount', 'signature'] as $name) {
            $value = $this->request->getParam($name);
            if ($value !== null) {
                $params[$name] = $value;
            }
        }
        $check = $this->links->check($secret, $params, time());
        if ($check !== RestoreLink::OK) {
            return $check === RestoreLink::EXPIRED ? self::EXPIRED : self::INVALID;
        }
        try {
            $quote = $this->quotes->get((int) $this->links->quoteId($secret, $params['token']));
        } catch (NoSuchEntityException) {
            return self::INVALID;
        }
        if (!$quote instanceof Quote || (int) $quote->getStoreId() !== $storeId) {
            return self::INVALID;
        }
        if (!$quote->getIsActive()) {
            return self::USED; // converted into an order
        }
        $owner = (int) $quote->getCustomerId();
        if ($owner && $owner !== (int) $this->customerSession->getCustomerId()) {
            return self::LOGIN; // a customer's cart opens only in their account
        }
        $this->applyDiscount($quote, (string) ($params['discount'] ?? ''));
        $this->checkoutSession->replaceQuote($quote);
        return self::RESTORED;
    }

    private function applyDiscount(Quote $quote, string $code): void
    {
        if ($code === '' || strcasecmp((string) $quote->getCouponCode(), $code) === 0) {
            return;
        }
        $quote->getShippingAddress()->setCollectShippingRates(true);
        $quote->setCouponCode($code)->collectTotals();
        $this->quotes->save($quote);
        if (strcasecmp((string) $quote->getCouponCode(), $code) !== 0) {
            $this->messages->addWarningMessage((string) __('The code %1 could not be applied to this cart.', $code));
        }
    }

    public static function notice(string $result): string
    {
        return match ($result) {
            self::USED => 'This cart link was already used to place an order. Your current cart has not been changed.',
            self::EXPIRED => 'This cart link has expired: open the newest link from your message. Your current cart has not been changed.',
            default => 'This cart link is not valid. Your current cart has not been changed.',
        };
    }
}
