<?php
/**
 * A configured Magento store for tests: the module's real classes wired to the shim's fakes,
 * and quotes and orders shaped like the ones Magento builds at checkout.
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Test\Unit;

use FollowUp\Recovery\Controller\Cart\Restore;
use FollowUp\Recovery\Model\Client;
use FollowUp\Recovery\Model\Config;
use FollowUp\Recovery\Model\Payload;
use FollowUp\Recovery\Model\RestoreLink;
use FollowUp\Recovery\Model\Signer;
use FollowUp\Recovery\Observer\OrderPlaced;
use FollowUp\Recovery\Observer\QuoteSaved;
use FollowUp\Recovery\Test\Shim;
use Magento\Catalog\Model\Product;
use Magento\Checkout\Model\Session as CheckoutSession;
use Magento\Customer\Model\Session as CustomerSession;
use Magento\Framework\Controller\ResultFactory;
use Magento\Framework\Event;
use Magento\Framework\Event\Observer;
use Magento\Framework\HTTP\Client\CurlFactory;
use Magento\Framework\HTTP\Header;
use Magento\Quote\Model\Quote;
use Magento\Sales\Model\Order;

final class Store
{
    public const MAGENTO_STORE = 1;
    public const BASE_URL = 'https://shop.example.com/';
    public const MOBILE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';

    public Shim\ScopeConfig $scopeConfig;
    public Shim\Encryptor $encryptor;
    public Shim\Cache $cache;
    public Shim\Logger $logger;
    public Shim\StoreManager $storeManager;
    public Shim\Quotes $quotes;
    public Shim\Messages $messages;
    public CurlFactory $http;
    public CheckoutSession $checkoutSession;
    public CustomerSession $customerSession;
    public Config $config;
    public RestoreLink $links;
    public Payload $payload;
    public Signer $signer;

    public function __construct(string $appUrl, int $followUpStoreId, string $secret)
    {
        $this->encryptor = new Shim\Encryptor();
        $this->scopeConfig = new Shim\ScopeConfig([
            Config::PATH_ENABLED => '1',
            Config::PATH_APP_URL => $appUrl,
            Config::PATH_STORE_ID => (string) $followUpStoreId,
            // What Magento\Config\Model\Config\Backend\Encrypted::beforeSave() writes: ciphertext only.
            Config::PATH_SECRET => $this->encryptor->encrypt($secret),
            'general/locale/code' => 'en_US',
        ]);
        $this->cache = new Shim\Cache();
        $this->logger = new Shim\Logger();
        $this->storeManager = new Shim\StoreManager([
            self::MAGENTO_STORE => new \Magento\Store\Model\Store(['store_id' => self::MAGENTO_STORE, 'base_url' => self::BASE_URL]),
            2 => new \Magento\Store\Model\Store(['store_id' => 2, 'base_url' => 'https://fr.shop.example.com/']),
        ]);
        $this->quotes = new Shim\Quotes();
        $this->messages = new Shim\Messages();
        $this->http = new CurlFactory();
        $this->checkoutSession = new CheckoutSession();
        $this->customerSession = new CustomerSession();
        $this->config = new Config($this->scopeConfig, $this->encryptor);
        $this->links = new RestoreLink();
        $this->payload = new Payload();
        $this->signer = new Signer();
    }

    public function client(): Client
    {
        return new Client($this->config, $this->signer, $this->http, $this->logger);
    }

    public function quoteSaved(string $userAgent = self::MOBILE_UA): QuoteSaved
    {
        return new QuoteSaved(
            $this->config, $this->payload, $this->links, $this->client(), $this->cache,
            $this->storeManager, new Header($userAgent), $this->logger
        );
    }

    public function orderPlaced(): OrderPlaced
    {
        return new OrderPlaced($this->config, $this->payload, $this->links, $this->client(), $this->cache, $this->logger);
    }

    /** @param array<string, mixed> $params */
    public function restore(array $params): Restore
    {
        return new Restore(
            new Shim\Request($params), new ResultFactory(), $this->checkoutSession, $this->customerSession,
            $this->quotes, $this->links, $this->config, $this->storeManager, $this->messages,
            new Shim\Url(self::BASE_URL)
        );
    }

    public function secret(): string
    {
        return $this->config->secret(self::MAGENTO_STORE);
    }

    /** @param array<string, mixed> $data */
    public static function event(array $data): Observer
    {
        return new Observer(['event' => new Event($data)]);
    }

    /**
     * A guest's quote at the shipping step: two lines (one a configurable product), a coupon,
     * shipping and tax collected, amounts as Magento's DECIMAL(20,4) strings.
     *
     * @param array<string, string> $contact email, telephone, firstname, lastname, country_id, region_code
     */
    public function guestQuote(int $id = 501, array $contact = []): Quote
    {
        $contact += [
            'email' => 'Ana.Lima@Example.com', 'telephone' => '+1 415 555 0100', 'firstname' => 'Ana',
            'lastname' => 'Lima', 'country_id' => 'US', 'region_code' => 'CA',
        ];
        $tea = new Quote\Item([
            'name' => 'Sencha Kyoto Green Tea', 'sku' => 'TEA-SENCHA-100', 'qty' => '2.0000',
            'price' => '14.5000', 'product_id' => '101',
            'product' => new Product(['product_url' => self::BASE_URL . 'sencha-kyoto.html']),
        ]);
        $pot = new Quote\Item([
            'name' => 'Cast Iron Teapot', 'sku' => 'POT-IRON-08-BLK', 'qty' => '1.0000',
            'price' => '39.0000', 'product_id' => '205',
            'children' => [new Quote\Item(['product_id' => '206', 'sku' => 'POT-IRON-08-BLK'])],
            'product' => new Product(['product_url' => self::BASE_URL . 'cast-iron-teapot.html']),
        ]);
        $address = ['email' => $contact['email'], 'telephone' => $contact['telephone'], 'firstname' => $contact['firstname'],
            'lastname' => $contact['lastname'], 'country_id' => $contact['country_id'], 'region_code' => $contact['region_code']];
        $quote = new Quote([
            'entity_id' => $id, 'store_id' => self::MAGENTO_STORE, 'is_active' => 1,
            'customer_email' => $contact['email'], 'customer_id' => null,
            'quote_currency_code' => 'USD', 'items' => [$tea, $pot],
            'subtotal' => '68.0000', 'subtotal_with_discount' => '61.2000', 'grand_total' => '71.5000',
            'coupon_code' => 'WELCOME10',
            'billing_address' => new Quote\Address($address),
            'shipping_address' => new Quote\Address($address + ['shipping_amount' => '5.0000', 'tax_amount' => '5.3000']),
        ]);
        $this->quotes->quotes[$id] = $quote;
        return $quote;
    }

    /** @param array<string, mixed> $data */
    public function order(Quote $quote, array $data = []): Order
    {
        return new Order($data + [
            'entity_id' => 9001, 'increment_id' => '000000042', 'quote_id' => $quote->getId(),
            'store_id' => self::MAGENTO_STORE, 'state' => 'new', 'status' => 'pending',
            'customer_email' => 'ana.lima@example.com', 'grand_total' => '71.5000',
            'order_currency_code' => 'USD', 'coupon_code' => 'WELCOME10', 'created_at' => '2026-12-02 18:30:05',
            'billing_address' => $quote->getBillingAddress(),
        ]);
    }
}
